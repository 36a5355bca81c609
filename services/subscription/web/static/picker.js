// Pickers (templates/pickers.html): a directory field's search box [data-picker] lists the matches as you
// type, from GET <data-picker>?q= (web/pickers.py); choosing one puts its id in the field's
// hidden input. Without this script the box's "Find" button does the same through a page.
"use strict";

(function () {
  var WAIT_MS = 150; // between the last key and the search

  document.querySelectorAll("[data-picker]").forEach(setUp);

  function setUp(box) {
    var url = box.dataset.picker;
    var field = box.closest(".picker");
    var value = field.querySelector("input[type=hidden]");
    var list = field.querySelector(".picker-matches");
    var timer = null;
    var asked = 0; // answers to an older question are dropped
    var active = -1;

    function options() {
      return Array.prototype.slice.call(list.querySelectorAll("[role=option]"));
    }

    function open(show) {
      list.hidden = !show;
      box.setAttribute("aria-expanded", show ? "true" : "false");
      if (!show) mark(-1);
    }

    function mark(at) {
      var all = options();
      active = at;
      all.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === at ? "true" : "false");
      });
      if (at >= 0 && all[at]) {
        box.setAttribute("aria-activedescendant", all[at].id);
        all[at].scrollIntoView({ block: "nearest" });
      } else {
        box.removeAttribute("aria-activedescendant");
      }
    }

    function choose(option) {
      value.value = option.dataset.id;
      box.value = option.dataset.label;
      open(false);
    }

    function show(items) {
      list.textContent = "";
      items.forEach(function (item, i) {
        var option = document.createElement("span");
        option.id = box.id + "-option-" + i;
        option.setAttribute("role", "option");
        option.dataset.id = item.id;
        option.dataset.label = item.label;
        option.textContent = item.label;
        if (item.detail) {
          var detail = document.createElement("span");
          detail.className = "detail";
          detail.textContent = item.detail;
          option.appendChild(detail);
        }
        list.appendChild(option);
      });
      if (!items.length) {
        var none = document.createElement("span");
        none.className = "none";
        none.textContent = "No matches";
        list.appendChild(none);
      }
      open(true);
      mark(items.length ? 0 : -1);
    }

    function search() {
      var question = ++asked;
      var query = url + (url.indexOf("?") < 0 ? "?" : "&") + "q=" +
        encodeURIComponent(box.value.trim());
      fetch(query, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("search failed");
          return response.json();
        })
        .then(function (answer) {
          if (question === asked && document.activeElement === box) show(answer.items);
        })
        .catch(function () {
          if (question === asked) open(false);
        });
    }

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, WAIT_MS);
    }

    box.addEventListener("input", function () {
      value.value = ""; // what is typed names no entry until one is chosen
      later();
    });
    box.addEventListener("focus", function () {
      if (!value.value) later();
    });
    box.addEventListener("blur", function () {
      window.setTimeout(function () { open(false); }, 150);
    });
    box.addEventListener("keydown", function (event) {
      var all = options();
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (list.hidden) {
          search();
        } else if (all.length) {
          var step = event.key === "ArrowDown" ? 1 : -1;
          mark((active + step + all.length) % all.length);
        }
        event.preventDefault();
      } else if (event.key === "Enter" && !list.hidden) {
        if (all[active]) choose(all[active]);
        event.preventDefault(); // choosing, not saving the form
      } else if (event.key === "Escape" && !list.hidden) {
        open(false);
        event.preventDefault();
      }
    });
    list.addEventListener("mousedown", function (event) {
      event.preventDefault(); // the box keeps the focus
      var option = event.target.closest("[role=option]");
      if (option) choose(option);
    });
  }
})();
