"""The one contract every analyzer backend implements."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

from nlp_api._errors import AnalyzerFailed, InvalidText
from nlp_api.analyzers._text import clean_text

__all__ = ["DETAIL_CHARS", "Analyzer", "GiveWay", "Option", "Outcome", "Token", "doc_error"]

DETAIL_CHARS = 500
"""The longest `detail` of a per-doc error entry."""


class Token(NamedTuple):
    """One morpheme: its surface form, its tag in the backend's tagset, and character offsets
    into the analysed text where the backend reports them. A NamedTuple: immutable, and about
    twice as fast to build as a frozen dataclass (tens of thousands per second per worker)."""

    form: str
    tag: str
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True, slots=True)
class Option:
    """A per-request backend option (e.g. okt's `stem`)."""

    type: type
    default: Any
    help: str = field(default="")


Outcome = list[Token] | dict[str, Any]
"""One doc's answer: its tokens, or `{"error": {"type", "detail"}}`."""
GiveWay = Callable[[], None]
"""Called by a batch between its docs: lets waiting interactive callers have the analyzer."""


def doc_error(kind: str, detail: str) -> dict[str, Any]:
    """The per-doc error entry that stands in a batch's results in place of the doc's tokens."""
    return {"error": {"type": kind, "detail": detail[:DETAIL_CHARS]}}


@runtime_checkable
class Analyzer(Protocol):
    """A morphological analyzer. Callers hold the analyzer's turns around `pos` and `pos_many`.

    Backends subclass it to inherit `pos_many` (every doc cleaned with `clean_text`, each doc's
    failure its own error entry) and `close` (nothing to release)."""

    name: str
    version: str
    tagset: str
    dictionary: str
    options: dict[str, Option]
    inline_chars: ClassVar[int] = 0
    """Requests of at most this many characters may run on the server's event loop, with no
    thread hop, when the analyzer is free: only for in-process backends that answer such a
    request in well under a millisecond or two. 0: always in the thread pool."""

    pos: Callable[..., list[Token]]
    """`pos(text, **options) -> tokens`: one doc; the options are the backend's own (`options`
    names them), each with a default."""

    def pos_many(
        self,
        docs: Sequence[str],
        options: Mapping[str, Any] | None = None,
        *,
        give_way: GiveWay | None = None,
    ) -> list[Outcome]:
        """Tokens or an error entry per doc, in order; `give_way` runs before each doc."""
        pos, kwargs = self.pos, dict(options or {})
        out: list[Outcome] = []
        for doc in docs:
            if give_way is not None:
                give_way()
            try:
                out.append(pos(clean_text(doc), **kwargs))
            except InvalidText as exc:
                out.append(doc_error(InvalidText.__name__, str(exc)))
            except Exception as exc:  # one doc's failure must not fail the batch
                detail = f"{self.name}: {type(exc).__name__}: {exc}"
                out.append(doc_error(AnalyzerFailed.__name__, detail))
        return out

    def close(self) -> None:
        """Release what the analyzer holds (a child process, ...); nothing by default."""
