"""Data flows one way: the HTTP clients never import the NLP API, and it imports none of them."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PACKAGES = ["nlp_api", "proxy", "serving", "spark_udfs", "training"]


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("proxy", {"nlp_api", "konlpy", "jpype", "mecab", "kiwipiepy"}),
        ("spark_udfs", {"nlp_api", "konlpy", "jpype", "mecab", "kiwipiepy"}),
        ("serving", {"nlp_api", "training", "konlpy", "jpype", "mecab", "kiwipiepy"}),
        ("training", {"nlp_api", "proxy", "serving", "spark_udfs"}),
        ("nlp_api", {"proxy", "serving", "spark_udfs", "training", "pyspark"}),
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
