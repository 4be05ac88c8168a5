"""Text hygiene before a backend sees a doc: what every analyzer gets, in process or isolated."""

from __future__ import annotations

import unicodedata

from nlp_api._errors import InvalidText

__all__ = ["clean_text"]

_CONTROL = frozenset({"Cc", "Cf", "Zl", "Zp"})
_KEEP = frozenset("\t\n\r")


def clean_text(text: str) -> str:
    """Control and format characters (NUL, zero-width, bidi marks...) become spaces, one for
    one, so offsets still index the caller's text; lone surrogates raise `InvalidText`."""
    if text.isprintable():  # no control, format, separator or surrogate code points
        return text
    out = []
    for ch in text:
        if "\ud800" <= ch <= "\udfff":
            raise InvalidText("the text contains a lone surrogate (not valid Unicode)")
        out.append(" " if ch not in _KEEP and unicodedata.category(ch) in _CONTROL else ch)
    return "".join(out)
