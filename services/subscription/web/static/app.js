// WISPGate admin pages: dropdown menus, the inner page's dialogs, the browser's time zone for date
// fields, import progress. Every page works without it: forms post, dialogs open in place.
"use strict";

(function () {
  function closeAll(except) {
    document.querySelectorAll(".dropdown .toggle[aria-expanded='true']").forEach(function (t) {
      if (t !== except) setOpen(t, false);
    });
  }

  function setOpen(toggle, open) {
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    menu.hidden = !open;
  }

  function items(menu) {
    return Array.prototype.slice.call(menu.querySelectorAll("a, button"));
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".dropdown .toggle");
    if (toggle) {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      closeAll(toggle);
      setOpen(toggle, open);
      if (open && event.detail === 0) {
        // Opened from the keyboard (Enter or Space): move to the first item.
        var first = items(document.getElementById(toggle.getAttribute("aria-controls")))[0];
        if (first) first.focus();
      }
      return;
    }
    if (!event.target.closest(".dropdown .menu")) closeAll(null);
  });

  document.addEventListener("keydown", function (event) {
    var dropdown = event.target.closest && event.target.closest(".dropdown");
    if (!dropdown) return;
    var toggle = dropdown.querySelector(".toggle");
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    if (event.key === "Escape" && !menu.hidden) {
      setOpen(toggle, false);
      toggle.focus();
      event.preventDefault();
    } else if ((event.key === "ArrowDown" || event.key === "ArrowUp") && !menu.hidden) {
      var list = items(menu);
      var at = list.indexOf(document.activeElement);
      var next = event.key === "ArrowDown" ? at + 1 : at - 1;
      if (next < 0) next = list.length - 1;
      if (next >= list.length) next = 0;
      list[next].focus();
      event.preventDefault();
    }
  });

  document.addEventListener("focusout", function (event) {
    var dropdown = event.target.closest && event.target.closest(".dropdown");
    if (dropdown && event.relatedTarget && !dropdown.contains(event.relatedTarget)) {
      setOpen(dropdown.querySelector(".toggle"), false);
    }
  });

  // Date-time fields have no zone; the server reads the browser's from this field.
  document.querySelectorAll("input.tz-offset").forEach(function (input) {
    input.value = String(new Date().getTimezoneOffset());
  });

  // Stored moments come in UTC: shown in the browser's zone, as it sends them back.
  document.querySelectorAll("input[type='datetime-local'][data-utc]").forEach(function (input) {
    var moment = new Date(input.value + "Z");
    if (isNaN(moment.getTime())) return;
    var local = new Date(moment.getTime() - moment.getTimezoneOffset() * 60000);
    input.value = local.toISOString().slice(0, 16);
  });

  // Dialogs: an opener link shows its dialog over the page instead of loading the page with
  // the dialog open in place; a dialog the server sent open (a refused form) opens the same way.
  function showDialog(dialog) {
    if (!dialog || typeof dialog.showModal !== "function") return false;
    if (dialog.open) dialog.close();
    dialog.showModal();
    var first = dialog.querySelector("[aria-invalid='true']") ||
      dialog.querySelector(".field input, .field select, .field textarea") ||
      dialog.querySelector("button[type='submit']");
    if (first) first.focus();
    return true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-dialog]");
    var target = link && document.getElementById(link.dataset.dialog);
    if (target && showDialog(target)) {
      // Closed again, the dialog gives the focus back to the button that opened it.
      target.addEventListener("close", function () { link.focus(); }, { once: true });
      event.preventDefault();
      return;
    }
    var close = event.target.closest && event.target.closest("dialog [data-close]");
    if (close) {
      var dialog = close.closest("dialog");
      if (dialog.matches(":modal")) {
        dialog.close();
        event.preventDefault();
      }
    }
  });

  document.querySelectorAll("dialog.dialog[open]").forEach(function (dialog) {
    showDialog(dialog);
  });

  // A form sends once: a second click while it is on its way does nothing.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sending === "true") {
      event.preventDefault();
      return;
    }
    form.dataset.sending = "true";
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sending]").forEach(function (f) {
      delete f.dataset.sending;
    });
  });

  var job = document.getElementById("import-job");
  if (job && job.dataset.final !== "true") followImport(job);

  function followImport(section) {
    var url = section.dataset.stateUrl;
    var progress = document.getElementById("import-progress");
    function show(id, value) {
      document.getElementById(id).textContent = String(value);
    }
    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          var type = response.headers.get("content-type") || "";
          if (!response.ok || type.indexOf("application/json") !== 0) throw new Error("stopped");
          return response.json();
        })
        .then(function (state) {
          if (state.rows_total > 0) {
            progress.max = state.rows_total;
            progress.value = state.rows_processed;
          }
          show("import-state", state.state);
          show("import-processed", state.rows_processed);
          show("import-total", state.rows_total);
          show("import-created", state.rows_created);
          show("import-skipped", state.rows_skipped);
          show("import-failed", state.rows_failed);
          if (state.state === "completed" || state.state === "failed") {
            if (state.rows_total === 0) {
              progress.max = 1;
              progress.value = 1;
            }
            showErrors(state);
          } else {
            window.setTimeout(poll, 1000);
          }
        })
        .catch(function () {
          window.setTimeout(poll, 5000);
        });
    }
    window.setTimeout(poll, 500);
  }

  function showErrors(state) {
    var body = document.querySelector("#import-errors-table tbody");
    body.textContent = "";
    state.errors.forEach(function (error) {
      var row = document.createElement("tr");
      [error.row, error.column || "", error.message].forEach(function (text, at) {
        var cell = document.createElement("td");
        if (at === 0) cell.className = "num";
        cell.textContent = String(text);
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
    document.getElementById("import-errors-table").hidden = state.errors.length === 0;
    document.getElementById("import-no-errors").hidden = state.errors.length > 0;
    document.getElementById("import-truncated").hidden = !state.errors_truncated;
    document.getElementById("import-wait").hidden = true;
    document.getElementById("import-errors").hidden = false;
    if (state.message) {
      var note = document.createElement("p");
      note.className = "form-error";
      note.setAttribute("role", "alert");
      note.textContent = state.message;
      document.getElementById("import-job").appendChild(note);
    }
  }
})();
