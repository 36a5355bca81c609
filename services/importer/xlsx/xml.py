"""XML parts parsed by defusedxml's expat driver, fed chunk by chunk.

defusedxml's parser refuses any DTD, entity declaration and external reference (an .xlsx part
never needs one), which rules out "billion laughs" and external-entity attacks. Elements are
handed straight from expat to a `Handler` rather than through SAX's attribute objects: a sheet
has millions of elements and that layer alone doubled the time to read one. Streaming rather
than a tree: memory does not grow with a sheet's length.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from xml.sax import SAXParseException

from defusedxml import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser

from .package import SAVE_AS_XLSX, Refused

log = logging.getLogger(__name__)

Start = Callable[[dict[str, str]], None]
End = Callable[[], None]


class Handler:
    """Receives expat's events: element starts and ends by name, and character data."""

    def start(self, name: str, attrs: dict[str, str]) -> None:
        """An element starts."""

    def end(self, name: str) -> None:
        """An element ends."""

    def text(self, content: str) -> None:
        """Character data."""


class ByName(Handler):
    """Calls a method per element's local name: `x:row` and `row` reach the same one."""

    def __init__(self, starts: dict[str, Start], ends: dict[str, End]) -> None:
        self._starts = starts
        self._ends = ends
        self._start_of: dict[str, Start | None] = {}
        self._end_of: dict[str, End | None] = {}

    def start(self, name: str, attrs: dict[str, str]) -> None:
        try:
            method = self._start_of[name]
        except KeyError:
            method = self._start_of[name] = self._starts.get(local_name(name))
        if method is not None:
            method(attrs)

    def end(self, name: str) -> None:
        try:
            method = self._end_of[name]
        except KeyError:
            method = self._end_of[name] = self._ends.get(local_name(name))
        if method is not None:
            method()


def local_name(name: str) -> str:
    """An element's name without its namespace prefix."""
    return name.rpartition(":")[2]


class _Parser(DefusedExpatParser):
    """defusedxml's expat driver with its protections, elements going straight to a Handler."""

    def __init__(self, handler: Handler) -> None:
        super().__init__(forbid_dtd=True, forbid_entities=True, forbid_external=True)
        self._handler = handler

    def reset(self) -> None:
        super().reset()  # a new expat parser carrying defusedxml's DTD and entity handlers
        parser = self._parser
        parser.buffer_text = True
        parser.StartElementHandler = self._handler.start
        parser.EndElementHandler = self._handler.end
        parser.CharacterDataHandler = self._handler.text


def fed(part: str, chunks: Iterable[bytes], handler: Handler) -> Iterator[None]:
    """Parse the chunks, yielding after each one so the caller can take what it produced.

    Whatever goes wrong while parsing is a Refused naming the part: the handlers' own refusals
    pass through, anything else means the part is not XML the reader can read.
    """
    parser = _Parser(handler)
    try:
        for chunk in chunks:
            parser.feed(chunk)
            yield
        parser.close()
    except Refused:
        raise
    except DefusedXmlException:
        raise Refused(
            f"{part} declares a DTD or entities, which no .xlsx file does: it was not saved by"
            " a spreadsheet program and is not read."
        ) from None
    except SAXParseException as exc:
        raise Refused(
            f"The file is damaged: {part} is not valid XML ({exc.getMessage()})."
        ) from None
    except (LookupError, UnicodeError, ValueError):
        # Raised by expat for an encoding it cannot use: unknown (`x-unknown`), not a text
        # encoding (`rot13`), or multi-byte other than UTF-8 and UTF-16 (`utf-7`).
        raise Refused(
            f"The file is damaged: {part} declares a text encoding that cannot be read (an .xlsx"
            f" part is UTF-8 or UTF-16): {SAVE_AS_XLSX}."
        ) from None
    except Exception:
        # Not seen by the tests (tests/importer/test_reader_bounds.py garbles parts to look for
        # them), but a file must never fail an import in a way that makes it be retried.
        log.exception("unexpected error parsing %s", part)
        raise Refused(f"The file is damaged: {part} cannot be read: {SAVE_AS_XLSX}.") from None


def parse(part: str, chunks: Iterable[bytes], handler: Handler) -> None:
    """Parse a whole part into the handler."""
    for _ in fed(part, chunks, handler):
        pass
