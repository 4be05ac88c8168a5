"""`nlpfeat demo`: every stage on one laptop, started and stopped here, on the bundled sample.

The sample plays two months of reviews and an evaluation set: the first 40% of its rows are
featurized and trained on (the first model goes straight to production and is served), then
the first 80% ("fresh data") go through `nlpfeat retrain` (train -> gate against production on
the last 20% -> promote, or keep as candidate), and serving, never restarted, answers with v2.
When the gate keeps v2 back, the demo promotes it with `--force --reason`, recorded in the
registry's history, so that the live swap shows either way.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from rich.console import Console
from rich.table import Table

from contracts import ModelRegistry
from nlpfeat._services import ServiceFailed, free_port, redis_reachable, service
from nlpfeat._settings import API_KEY_ENV, UPSTREAM_TOKEN_ENV

__all__ = ["DEMO_SENTENCES", "DemoFailed", "run_demo"]

DEMO_SENTENCES = [
    "정말 재미있고 감동적인 영화였어요. 배우들 연기가 최고!",
    "시간 낭비였다. 스토리도 엉망이고 지루해서 졸았음",
    "음악이 너무 좋았고 다시 보고 싶은 영화",
    "최악의 영화 돈 아깝다 ㅡㅡ",
    "그럭저럭 볼만했는데 결말이 아쉽네요",
]


class DemoFailed(RuntimeError):
    pass


def _sigterm_to_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stage(
    console: Console, args: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)
) -> int:
    console.rule(f"nlpfeat {args[0]}")
    cmd = [sys.executable, "-m", "nlpfeat", *args]
    done = subprocess.run(cmd, check=False, env={**os.environ, **env})
    if done.returncode not in ok:
        raise DemoFailed(f"`nlpfeat {' '.join(args)}` failed with exit code {done.returncode}")
    return done.returncode


SPLITS = {"month1": (0.0, 0.4), "month2": (0.0, 0.8), "eval": (0.8, 1.0)}
"""Row ranges of the sample: a first table, a fresh one that includes it, and the gate's
evaluation rows, which neither model trains on."""


def _split(sample: Path, workdir: Path) -> dict[str, Path]:
    frame = pd.read_csv(sample, sep="\t", quoting=3, dtype=str, keep_default_na=False)
    out = {}
    for name, (start, end) in SPLITS.items():
        path = workdir / f"reviews_{name}.tsv"
        part = frame.iloc[int(start * len(frame)) : int(end * len(frame))]
        part.to_csv(path, sep="\t", index=False, quoting=3)
        out[name] = path
    return out


_SPARK_KEY_ENV = "NLPFEAT_DEMO_SPARK_KEY"
_SERVING_KEY_ENV = "NLPFEAT_DEMO_SERVING_KEY"
_PROXY_TOML = """\
# written by `nlpfeat demo`; keys and the upstream token come from the environment
[redis]
{redis}
[capacity]
max_in_flight = 8
interactive_reserved = 0.25

[upstream]
urls = ["{api_url}"]
token_env = "{token_env}"

[[clients]]
name = "demo-spark"
key_env = "{spark_key_env}"
class = "batch"
rate = 200
burst = 50
max_in_flight = 6
queue_cap = 64
max_wait = 30

[[clients]]
name = "demo-serving"
key_env = "{serving_key_env}"
class = "interactive"
rate = 100
burst = 50
max_in_flight = 4
queue_cap = 16
max_wait = 1
"""


def run_demo(
    sample: Path, workdir: Path, *, analyzer: str, redis_url: str, console: Console
) -> list[dict[str, Any]]:
    """Run the whole path; returns the predictions for `DEMO_SENTENCES`."""
    if not sample.exists():
        raise DemoFailed(f"{sample} not found: run from the repository root or pass --sample")
    signal.signal(signal.SIGTERM, _sigterm_to_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    logs = workdir / "logs"
    ports = {name: free_port(p) for name, p in (("api", 8001), ("proxy", 8000), ("serve", 8002))}
    api_url, proxy_url = (f"http://127.0.0.1:{ports[n]}" for n in ("api", "proxy"))
    shared = redis_reachable(redis_url)
    secret = {  # fresh for every run; handed to the processes through the environment
        name: secrets.token_urlsafe(24)
        for name in (UPSTREAM_TOKEN_ENV, _SPARK_KEY_ENV, _SERVING_KEY_ENV)
    }
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "proxy.toml"
    config.write_text(
        _PROXY_TOML.format(
            redis=f'url = "{redis_url}"' if shared else "",
            api_url=api_url,
            token_env=UPSTREAM_TOKEN_ENV,
            spark_key_env=_SPARK_KEY_ENV,
            serving_key_env=_SERVING_KEY_ENV,
        ),
        encoding="utf-8",
    )
    console.print(
        f"API {api_url} · proxy {proxy_url} "
        f"({'Redis ' + redis_url if shared else 'in-process limiter: no Redis answered'}, "
        f"config {config}) · logs in {logs}/"
    )
    try:
        with contextlib.ExitStack() as stack:
            with console.status(f"starting the NLP API (loading {analyzer})"):
                stack.enter_context(
                    service(
                        "api",
                        [
                            "api",
                            "--port",
                            str(ports["api"]),
                            "--analyzers",
                            analyzer,
                            "--isolate",
                            "",
                        ],
                        f"{api_url}/readyz",
                        log_dir=logs,
                        env={UPSTREAM_TOKEN_ENV: secret[UPSTREAM_TOKEN_ENV]},
                    )
                )
                stack.enter_context(
                    service(
                        "proxy",
                        ["proxy", "--config", str(config), "--port", str(ports["proxy"])],
                        f"{proxy_url}/_proxy/readyz",
                        log_dir=logs,
                        env=secret,
                    )
                )
            models = workdir / "models"
            tables = {}
            for name, path in _split(sample, workdir).items():
                tables[name] = workdir / f"features_{name}.parquet"
                _stage(
                    console,
                    [
                        "featurize",
                        "--input",
                        str(path),
                        "--output",
                        str(tables[name]),
                        "--proxy",
                        proxy_url,
                        "--analyzer",
                        analyzer,
                        "--min-chars",
                        "1",
                        "--drop-duplicates",
                        "--overwrite",
                        "--no-progress",
                    ],
                    {API_KEY_ENV: secret[_SPARK_KEY_ENV]},
                )
            if models.exists():  # a demo run before this one: start the lifecycle afresh
                shutil.rmtree(models)
            train = ["train", "--features", str(tables["month1"]), "--models", str(models)]
            _stage(console, train, {})
            serve_url = f"http://127.0.0.1:{ports['serve']}"
            with console.status("starting serving"):
                stack.enter_context(
                    service(
                        "serve",
                        [
                            "serve",
                            "--models",
                            str(models),
                            "--proxy",
                            proxy_url,
                            "--port",
                            str(ports["serve"]),
                        ],
                        f"{serve_url}/v2/health/ready",
                        log_dir=logs,
                        env={API_KEY_ENV: secret[_SERVING_KEY_ENV]},
                    )
                )
            _predict(console, serve_url)
            retrain = ["retrain", "--features", str(tables["month2"]), "--models", str(models)]
            retrain += ["--eval", str(tables["eval"]), "--json", str(workdir / "gate.json")]
            if _stage(console, retrain, {}, ok=(0, 1)) == 0:
                console.print("the gate passed: v2 is production (report in gate.json)")
            else:
                console.print(
                    "the gate failed: v2 stays the candidate (report in gate.json). To show a "
                    "live swap the demo promotes it anyway, forced, with its reason recorded"
                )
                force = ["models", "promote", "sentiment", "--models", str(models), "--force"]
                force += ["--reason", "demo: shows the live swap after a failed gate"]
                _stage(console, force, {})
            _stage(console, ["models", "list", "--models", str(models)], {})
            production = ModelRegistry(models).resolve("sentiment", "production")
            console.print(f"serving switches to v{production} without a restart")
            _await_version(serve_url, str(production))
            return _predict(console, serve_url)
    except ServiceFailed as exc:
        raise DemoFailed(str(exc)) from exc
    finally:
        console.print("stopped every process the demo started")


def _await_version(serve_url: str, version: str, timeout: float = 30.0) -> None:
    """Until `/v1/predict` answers from `version` (serving polls the registry)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = httpx.post(f"{serve_url}/v1/predict", json={"texts": ["좋다"]}, timeout=30)
        if resp.status_code == 200 and resp.json()["model_version"] == version:
            return
        time.sleep(0.2)
    raise DemoFailed(f"serving did not switch to v{version} within {timeout:g} s")


def _predict(console: Console, serve_url: str) -> list[dict[str, Any]]:
    resp = httpx.post(f"{serve_url}/v1/predict", json={"texts": DEMO_SENTENCES}, timeout=30)
    if resp.status_code != 200:
        raise DemoFailed(f"/v1/predict answered {resp.status_code}: {resp.text}")
    body = resp.json()
    table = Table(title=f"model {body['model']} v{body['model_version']}")
    table.add_column("text")
    table.add_column("label")
    table.add_column("P(positive)", justify="right")
    for text, p in zip(DEMO_SENTENCES, body["predictions"], strict=True):
        if "error" in p:
            table.add_row(text, "error", p["error"]["detail"])
        else:
            label = "positive" if p["label"] == 1 else "negative"
            table.add_row(text, label, f"{p['probability']:.3f}")
    console.print(table)
    predictions: list[dict[str, Any]] = body["predictions"]
    return predictions
