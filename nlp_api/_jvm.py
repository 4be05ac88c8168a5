"""The JVM is a process-wide resource: started once, from the app's lifespan, with one heap size."""

from __future__ import annotations

import os
import threading

from nlp_api._errors import JavaNotFound, JvmConflict

__all__ = ["start_jvm"]

_lock = threading.Lock()
_started_with: str | None = None


def start_jvm(max_heap: str = "1g") -> None:
    """Start the JVM for konlpy's analyzers; idempotent for the same options, loud otherwise."""
    global _started_with
    with _lock:
        if _started_with is not None:
            if _started_with != max_heap:
                raise JvmConflict(_started_with, max_heap)
            return
        import jpype

        try:
            jvm_path = jpype.getDefaultJVMPath()
        except jpype.JVMNotFoundException as exc:
            raise JavaNotFound() from exc
        if not jpype.isJVMStarted():
            jpype.startJVM(
                jvm_path,
                "-Dfile.encoding=UTF8",
                "-Xrs",  # leave SIGTERM/SIGINT to uvicorn so shutdown is graceful
                f"-Xmx{max_heap}",
                classpath=_konlpy_classpath(),
                convertStrings=True,
            )
        _started_with = max_heap


def _konlpy_classpath() -> list[str]:
    from konlpy import utils

    javadir = os.path.join(utils.installpath, "java")
    return [javadir, os.path.join(javadir, "bin"), os.path.join(javadir, "*")]
