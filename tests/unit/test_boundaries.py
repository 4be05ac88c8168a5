"""Data flows one way: the HTTP clients never import the NLP API, and it imports none of them.

`contracts` sits below every stage: each stage imports it, it imports no stage and nothing
heavy. Checked twice: what importing a package loads, and every import statement in its source
(a lazy import inside a function counts too).
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["contracts", "nlp_api", "proxy", "serving", "spark_udfs", "training"]
STAGES = ["nlp_api", "proxy", "serving", "spark_udfs", "training", "nlpfeat"]
ANALYZERS = {"konlpy", "jpype", "mecab", "kiwipiepy"}
HEAVY = {"pyspark", "fastapi", "starlette", "pydantic", "aiohttp", "httpx", "onnx", "onnxruntime"}

# What each package may never import, statically or at run time.
FORBIDDEN = {
    "contracts": {*STAGES, *ANALYZERS, *HEAVY, "redis", "orjson"},  # numpy: lazily, to pad rows
    "proxy": {"nlp_api", "spark_udfs", "training", "serving", "nlpfeat", *ANALYZERS},
    "spark_udfs": {"nlp_api", "proxy", "training", "serving", "nlpfeat", *ANALYZERS},
    "serving": {"nlp_api", "training", "proxy", "spark_udfs", "nlpfeat", *ANALYZERS},
    "training": {"nlp_api", "proxy", "serving", "spark_udfs", "nlpfeat"},
    "nlp_api": {"proxy", "serving", "spark_udfs", "training", "nlpfeat", "pyspark"},
}


def imports_in_source(package: str) -> dict[str, set[str]]:
    """Top-level names each module of `package` imports, anywhere in its source."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_module_imports_across_a_boundary(package: str) -> None:
    crossing = {
        module: sorted(names & FORBIDDEN[package])
        for module, names in imports_in_source(package).items()
        if names & FORBIDDEN[package]
    }
    assert crossing == {}


@pytest.mark.parametrize("package", [p for p in STAGES if p != "nlpfeat"])
def test_every_stage_takes_its_contracts_from_the_shared_package(package: str) -> None:
    users = [m for m, names in imports_in_source(package).items() if "contracts" in names]
    assert users, f"{package} imports nothing from contracts"


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("proxy", {"nlp_api", "konlpy", "jpype", "mecab", "kiwipiepy"}),
        ("spark_udfs", {"nlp_api", "konlpy", "jpype", "mecab", "kiwipiepy"}),
        ("serving", {"nlp_api", "training", "konlpy", "jpype", "mecab", "kiwipiepy"}),
        ("training", {"nlp_api", "proxy", "serving", "spark_udfs"}),
        ("nlp_api", {"proxy", "serving", "spark_udfs", "training", "pyspark"}),
        ("contracts", {*STAGES, *ANALYZERS, *HEAVY, "numpy"}),
    ],
)
def test_package_does_not_reach_across_a_boundary(package: str, forbidden: set[str]) -> None:
    code = (
        f"import sys, {package}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert forbidden.isdisjoint(done.stdout.split())


@pytest.mark.parametrize("package", PACKAGES)
def test_public_surface_is_a_sorted_all(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ == sorted(module.__all__, key=lambda n: (not n.isupper(), n))
    assert all(hasattr(module, name) for name in module.__all__)
