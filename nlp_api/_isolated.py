"""An analyzer in a child process that is killed and replaced when one document takes too long.

Why: a call into the JVM cannot be interrupted from Python, and konlpy's kkma is known to run
for minutes on some inputs (konlpy issues 73 and 128). The only reliable way to bound the time
spent on one document is to run the analyzer in a process of its own and kill that process.

Protocol, over one `multiprocessing.Pipe` per child (started with "spawn", never "fork": the
parent may already hold a JVM and threads):

    child  -> parent   ("ready", metadata) once the analyzer is built, or ("failed", (type, detail))
    parent -> child    (docs, options) for a whole batch, or None to stop
    child  -> parent   ("ok", [(form, tag, start, end), ...]) or ("err", (type, detail)),
                       one message per doc, in order, sent as soon as that doc is done

The parent waits at most `doc_timeout` seconds for each message. On a timeout (or when the
child dies, e.g. OOM) the doc in flight gets an error entry, the child is killed, a new one is
started, and the rest of the batch goes to the new child. Messages never carry an id: each
child has its own pipe, so a killed child's late answer cannot be mistaken for a new one.

A child exits when the parent asks it to, when its pipe reaches EOF, or, through a watchdog
thread, as soon as the parent process is gone, even in the middle of a JVM call.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import threading
import weakref
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from nlp_api._errors import (
    AnalyzerFailed,
    AnalyzerNotReady,
    AnalyzerUnavailable,
    DocCrashed,
    DocTimeout,
    InvalidText,
)
from nlp_api.analyzers import (
    DETAIL_CHARS,
    JVM_BACKENDS,
    WARM_UP_TEXT,
    Analyzer,
    GiveWay,
    Option,
    Outcome,
    Token,
    clean_text,
    load_analyzer,
)
from nlp_api.analyzers import doc_error as _error

__all__ = ["IsolatedAnalyzer"]

log = logging.getLogger(__name__)

_STOP_GRACE_S = 2.0
_KILL_WAIT_S = 5.0
_PER_DOC_ERRORS: dict[str, type[AnalyzerFailed] | type[InvalidText]] = {
    cls.__name__: cls for cls in (InvalidText, DocTimeout, DocCrashed)
}


# --- the child process ---------------------------------------------------------------------


def _build(name: str, jvm_heap: str, kwargs: dict[str, Any], factory: str | None) -> Analyzer:
    """`factory` ("package.module:function") lets tests build a fake instead of a backend."""
    if factory is not None:
        module, _, function = factory.partition(":")
        built: Analyzer = getattr(importlib.import_module(module), function)(**kwargs)
        return built
    if name in JVM_BACKENDS:
        from nlp_api._jvm import start_jvm

        start_jvm(jvm_heap)
    return load_analyzer(name, **kwargs)


def _exit_with_parent() -> None:
    """Wait on the parent's sentinel (readable when the parent is gone), then exit at once."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()
        os._exit(0)


def _child_main(
    conn: Connection, name: str, jvm_heap: str, kwargs: dict[str, Any], factory: str | None
) -> None:
    """Entry point of the child; module level so that spawn can import it."""
    threading.Thread(target=_exit_with_parent, name="exit-with-parent", daemon=True).start()
    try:
        analyzer = _build(name, jvm_heap, kwargs, factory)
        if factory is None:
            analyzer.pos(WARM_UP_TEXT)  # first calls load lazily: not under the doc timeout
        meta = {
            "name": analyzer.name,
            "version": analyzer.version,
            "tagset": analyzer.tagset,
            "dictionary": analyzer.dictionary,
            "options": dict(analyzer.options),
        }
    except Exception as exc:
        conn.send(("failed", (type(exc).__name__, str(exc)[:DETAIL_CHARS])))
        return
    conn.send(("ready", meta))
    _serve(conn, analyzer)


def _serve(conn: Connection, analyzer: Analyzer) -> None:
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        docs, options = message
        for doc in docs:
            try:
                reply: tuple[str, Any] = (
                    "ok",
                    [(t.form, t.tag, t.start, t.end) for t in analyzer.pos(doc, **options)],
                )
            except Exception as exc:  # one doc's failure is that doc's answer
                detail = f"{analyzer.name}: {type(exc).__name__}: {exc}"
                reply = ("err", (AnalyzerFailed.__name__, detail[:DETAIL_CHARS]))
            try:
                conn.send(reply)
            except OSError:
                return


# --- the parent's handle on one child ------------------------------------------------------


def _stop_process(process: BaseProcess, conn: Connection) -> None:
    """Terminate, then kill; used by `_Child.stop` and, via `weakref.finalize`, at exit."""
    if process.is_alive():
        process.terminate()
        process.join(_KILL_WAIT_S)
    if process.is_alive():
        process.kill()
        process.join(_KILL_WAIT_S)
    conn.close()


class _Child:
    """One started child process and the parent's end of its pipe."""

    def __init__(self, name: str, target_args: tuple[Any, ...], start_timeout: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child_conn = context.Pipe(duplex=True)
        self.process = context.Process(
            target=_child_main,
            args=(child_conn, *target_args),
            name=f"nlp-api-{name}",
            daemon=True,
        )
        self.process.start()
        child_conn.close()  # so that the child's death reads as EOF here
        self._finalizer = weakref.finalize(self, _stop_process, self.process, self.conn)
        self.meta = self._await_ready(name, start_timeout)

    def _await_ready(self, name: str, start_timeout: float) -> dict[str, Any]:
        try:
            if not self.conn.poll(start_timeout):
                raise AnalyzerUnavailable(
                    name, f"the analyzer process was not ready within {start_timeout}s"
                )
            kind, payload = self.conn.recv()
        except (EOFError, OSError) as exc:
            self.process.join(_KILL_WAIT_S)
            code = self.process.exitcode
            self.stop(graceful=False)
            raise AnalyzerUnavailable(
                name, f"the analyzer process exited (code {code}) before it was ready"
            ) from exc
        except AnalyzerUnavailable:
            self.stop(graceful=False)
            raise
        if kind != "ready":
            self.stop(graceful=False)
            raise AnalyzerUnavailable(name, f"{payload[0]}: {payload[1]}")
        meta: dict[str, Any] = payload
        return meta

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def stop(self, *, graceful: bool = True) -> None:
        """Ask the child to exit (when `graceful`), then terminate or kill it if it lingers."""
        if graceful and self.process.is_alive():
            try:
                self.conn.send(None)
                self.process.join(_STOP_GRACE_S)
            except OSError:
                pass
        self._finalizer()


# --- the public analyzer -------------------------------------------------------------------


class IsolatedAnalyzer(Analyzer):
    """An analyzer run in a killable child process with a time limit per document.

    Exposes the wrapped analyzer's `name, version, tagset, dictionary, options`. `pos_many` is
    the batch path: one exchange with the child for the whole batch, or, when the caller gives
    way between docs (a batch request while interactive ones may wait), one exchange per doc
    with `give_way` called before each; `pos` is for single documents and raises instead of
    returning error entries. `_factory`
    ("package.module:function", importable in the child: spawn gives it the parent's
    `sys.path`) replaces `load_analyzer(name, **kwargs)`, for tests.
    """

    def __init__(
        self,
        name: str,
        *,
        jvm_heap: str = "1g",
        doc_timeout: float = 10.0,
        start_timeout: float = 120.0,
        kwargs: dict[str, Any] | None = None,
        _factory: str | None = None,
    ) -> None:
        self.doc_timeout = doc_timeout
        self.start_timeout = start_timeout
        self._requested = name
        self._target_args = (name, jvm_heap, dict(kwargs or {}), _factory)
        self._lock = threading.Lock()
        self._closed = False
        self._child: _Child | None = self._start()
        meta = self._child.meta
        self.name: str = meta["name"]
        self.version: str = meta["version"]
        self.tagset: str = meta["tagset"]
        self.dictionary: str = meta["dictionary"]
        self.options: dict[str, Option] = meta["options"]

    def _start(self) -> _Child:
        return _Child(self._requested, self._target_args, self.start_timeout)

    @property
    def pid(self) -> int | None:
        """The current child's process id (it changes when the child is replaced)."""
        child = self._child
        return None if child is None else child.pid

    def pos(self, text: str, **options: Any) -> list[Token]:
        """One document; raises `InvalidText`, `DocTimeout`, `DocCrashed` or `AnalyzerFailed`."""
        (result,) = self.pos_many([text], options)
        if not isinstance(result, dict):
            return result
        kind, detail = result["error"]["type"], result["error"]["detail"]
        raise _PER_DOC_ERRORS.get(kind, AnalyzerFailed)(detail)

    def pos_many(
        self,
        docs: Sequence[str],
        options: Mapping[str, Any] | None = None,
        *,
        give_way: GiveWay | None = None,
    ) -> list[Outcome]:
        """Tokens or an error entry per doc, in order; no doc waits more than `doc_timeout`.
        With `give_way`, docs go to the child one at a time and `give_way` runs before each."""
        if self._closed:
            raise AnalyzerNotReady(self.name, "closed")
        kwargs = dict(options or {})
        results: list[Outcome] = [[] for _ in docs]
        pending: list[tuple[int, str]] = []
        for i, doc in enumerate(docs):
            try:
                pending.append((i, clean_text(doc)))
            except InvalidText as exc:
                results[i] = _error(InvalidText.__name__, str(exc))
        step = 1 if give_way is not None else max(len(pending), 1)
        for start in range(0, len(pending), step):
            if give_way is not None:
                give_way()  # outside the lock: whoever goes first takes it
            batch = pending[start : start + step]
            with self._lock:
                while batch:
                    batch = self._exchange(batch, kwargs, results)
        return results

    def _exchange(
        self, pending: list[tuple[int, str]], options: dict[str, Any], results: list[Any]
    ) -> list[tuple[int, str]]:
        """Send `pending` to the child and collect answers until done or the child is lost;
        returns the docs still unanswered (to go to a fresh child)."""
        child = self._live_child(pending, results)
        if child is None:
            return []
        try:
            child.conn.send(([doc for _, doc in pending], options))
        except OSError:
            child.stop(graceful=False)  # died while idle; the next round starts a new one
            return pending
        for k, (i, _) in enumerate(pending):
            try:
                if not child.conn.poll(self.doc_timeout):
                    results[i] = _error(DocTimeout.__name__, self._timeout_detail())
                    self._replace(child, f"timed out after {self.doc_timeout}s")
                    return pending[k + 1 :]
                kind, payload = child.conn.recv()
            except (EOFError, OSError):
                results[i] = _error(DocCrashed.__name__, self._crash_detail(child))
                self._replace(child, "died")
                return pending[k + 1 :]
            if kind == "ok":
                results[i] = [Token(*t) for t in payload]
            else:
                results[i] = _error(*payload)
        return []

    def _live_child(self, pending: list[tuple[int, str]], results: list[Any]) -> _Child | None:
        """The running child, started anew if needed; None (docs answered with an error) when
        the analyzer is closed or a new child cannot be started."""
        if self._child is not None and self._child.process.is_alive():
            return self._child
        if self._child is not None:
            self._child.stop(graceful=False)
            self._child = None
        try:
            if self._closed:
                raise AnalyzerNotReady(self.name, "closed")
            self._child = self._start()
        except (AnalyzerUnavailable, AnalyzerNotReady) as exc:
            for i, _ in pending:
                results[i] = _error(type(exc).__name__, str(exc))
            return None
        return self._child

    def _replace(self, child: _Child, why: str) -> None:
        """Kill `child`; the next `_live_child` starts its successor."""
        log.warning("analyzer %s process %s %s; restarting it", self.name, child.pid, why)
        child.stop(graceful=False)
        if self._child is child:
            self._child = None

    def _timeout_detail(self) -> str:
        return (
            f"{self.name} took longer than {self.doc_timeout}s on this document; "
            "the analyzer process was restarted"
        )

    def _crash_detail(self, child: _Child) -> str:
        child.process.join(1.0)
        return (
            f"the {self.name} process died on this document (exit code "
            f"{child.process.exitcode}); it was restarted"
        )

    def close(self) -> None:
        """Stop the child: politely when no batch is in flight, otherwise by killing it."""
        self._closed = True
        graceful = self._lock.acquire(blocking=False)
        try:
            child, self._child = self._child, None
            if child is not None:
                child.stop(graceful=graceful)
        finally:
            if graceful:
                self._lock.release()

    def __repr__(self) -> str:
        return f"IsolatedAnalyzer({self.name!r}, pid={self.pid}, doc_timeout={self.doc_timeout})"
