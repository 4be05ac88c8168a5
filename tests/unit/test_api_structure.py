"""The NLP API's shape: every module imports on its own, imports flow one way (no circle, and
`analyzers/` never reaches up to the dictionary store), every exception lives in `_errors` and
its docstring draws the real tree, and only the entry point reads the environment."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import nlp_api
from nlp_api import _errors

ROOT = Path(nlp_api.__file__).parent
MODULES = sorted(m.name for m in pkgutil.walk_packages(nlp_api.__path__, "nlp_api."))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the nlp_api modules its source imports, anywhere (lazy and TYPE_CHECKING ones
    too). `from nlp_api.x import y` counts as importing `nlp_api.x.y` when that is a module."""
    graph: dict[str, set[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
        graph[_module_name(path)] = {m for m in found if m in MODULES or m == "nlp_api"}
    return graph


def test_every_module_imports_in_a_fresh_interpreter() -> None:
    def load(module: str) -> tuple[str, str]:
        done = subprocess.run(
            [sys.executable, "-c", f"import {module}"], capture_output=True, text=True
        )
        return module, done.stderr.strip().splitlines()[-1] if done.returncode else ""

    with ThreadPoolExecutor(4) as pool:
        failed = {m: err for m, err in pool.map(load, ["nlp_api", *MODULES]) if err}
    assert failed == {}


def test_analyzers_do_not_reach_up_to_the_dictionary_store() -> None:
    graph = import_graph()
    below = {m: deps for m, deps in graph.items() if m.startswith("nlp_api.analyzers")}
    assert below, "no analyzers modules found"
    upward = {
        m: sorted(
            d for d in deps if not d.startswith("nlp_api.analyzers") and d != "nlp_api._errors"
        )
        for m, deps in below.items()
    }
    assert {m: d for m, d in upward.items() if d} == {}
    assert "nlp_api.analyzers._userdict" in graph["nlp_api._dictionaries"]


def test_there_is_no_import_circle() -> None:
    graph = import_graph()
    # a package's __init__ re-exporting its submodules is how packages work, not a circle
    edges = {
        m: {d for d in deps if not m.startswith(f"{d}.") and d != "nlp_api"}
        for m, deps in graph.items()
    }
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "open"
        for dep in sorted(edges.get(module, ())):
            if state.get(dep) == "open":
                return [*path, module, dep]
            if dep not in state and (circle := visit(dep, [*path, module])):
                return circle
        state[module] = "done"
        return None

    circles = [c for m in sorted(edges) if m not in state and (c := visit(m, []))]
    assert circles == []


def _documented_tree() -> dict[str, tuple[str | None, int, str]]:
    """Class -> (parent, status, slug) as `_errors`' docstring draws them."""
    doc = _errors.__doc__ or ""
    rows = re.findall(r"^([│├└─ ]*)([A-Z]\w+)\s+(\d{3}) ([a-z0-9-]+)", doc, flags=re.M)
    tree: dict[str, tuple[str | None, int, str]] = {}
    stack: list[str] = []
    for prefix, name, status, slug in rows:
        depth = len(prefix) // 4
        del stack[depth:]
        tree[name] = (stack[-1] if stack else None, int(status), slug)
        stack.append(name)
    return tree


def test_the_errors_docstring_draws_the_real_tree() -> None:
    real = {}
    for name in _errors.__all__:
        cls = getattr(_errors, name)
        ours = [b for b in cls.__bases__ if issubclass(b, _errors.NlpApiError)]
        real[name] = (ours[0].__name__ if ours else None, cls.status, cls.slug)
    assert _documented_tree() == real


def test_every_exception_class_lives_in_errors() -> None:
    elsewhere = []
    for module in MODULES:
        mod = importlib.import_module(module)
        for name, obj in inspect.getmembers(mod, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == module != _errors.__name__:
                elsewhere.append(f"{module}.{name}")
    assert elsewhere == []


@pytest.mark.parametrize("module", MODULES)
def test_only_the_entry_point_reads_the_environment(module: str) -> None:
    """Settings are read once, into `ApiSettings`; workers get them from their parent."""
    source = Path(importlib.import_module(module).__file__ or "").read_text(encoding="utf-8")
    reads = re.findall(r"os\.environ|getenv|environ\.get", source)
    allowed = {"nlp_api._app": 4}  # app_from_env reads the parent's two; run sets them
    assert len(reads) <= allowed.get(module, 0), reads
