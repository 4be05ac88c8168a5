"""Every subcommand documents itself; missing Java is one sentence, not a stack trace."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nlpfeat._cli import app

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "reviews_sample.tsv"


@pytest.mark.parametrize("command", ["api", "proxy", "featurize", "train", "serve", "demo"])
def test_help(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output and "--help" in result.output


@pytest.mark.parametrize(
    ("command", "flag", "envvar"),
    [
        ("api", "--upstream-token", "NLPFEAT_UPSTREAM_TOKEN"),
        ("featurize", "--api-key", "NLPFEAT_API_KEY"),
        ("serve", "--api-key", "NLPFEAT_API_KEY"),
    ],
)
def test_secrets_come_from_a_flag_or_the_environment(command: str, flag: str, envvar: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
    assert flag in result.output and envvar in result.output


def test_featurize_without_java_says_so_in_one_sentence(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)  # no java on it
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nlpfeat",
            "featurize",
            "--input",
            str(SAMPLE),
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Java was not found" in done.stderr and "Traceback" not in done.stderr
