"""The featurize job on a real Spark standalone cluster (master + worker on 127.0.0.1, from
pyspark's own jars), submitted with `--master spark://...`.

The executors run a Python that has the third-party libraries but not this project: they can
only import `spark_udfs` and `contracts` from the zip the job ships itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from contracts import TABLE_METADATA_FILENAME
from nlpfeat._services import free_port

pytestmark = [pytest.mark.slow, pytest.mark.spark, pytest.mark.redis, pytest.mark.jvm]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A venv whose site-packages reaches this venv's libraries but not the editable project
    (a .pth line adds a directory; the .pth files inside it, the project's included, stay
    unread)."""
    home = tmp_path_factory.mktemp("bare")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True)
    python = str(home / "bin" / "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "libraries.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    probe = (
        "import httpx, pandas, pyarrow, mmh3\n"
        "try:\n import spark_udfs\nexcept ImportError:\n print('absent')"
    )
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True, cwd=home)
    assert done.stdout.strip() == "absent", done.stderr
    return python


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import pyspark

    home = Path(pyspark.__file__).parent
    work = tmp_path_factory.mktemp("spark-standalone")
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_SCALA_VERSION": "2.13",  # else the launcher looks for a source build
    }
    classpath = str(home / "jars" / "*")
    port, master_ui, worker_ui = free_port(), free_port(), free_port()
    url = f"spark://127.0.0.1:{port}"

    def java(name: str, *args: str) -> subprocess.Popen:
        log = (work / f"{name}.log").open("wb")
        cmd = ["java", "-Xmx512m", "-cp", classpath, *args]
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work)

    procs = [
        java(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webui-port",
            str(master_ui),
        )
    ]
    try:
        procs.append(
            java(
                "worker",
                "org.apache.spark.deploy.worker.Worker",
                "--host",
                "127.0.0.1",
                "--cores",
                "2",
                "--memory",
                "2g",
                "--webui-port",
                str(worker_ui),
                "--work-dir",
                str(work / "work"),
                url,
            )
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                state = httpx.get(f"http://127.0.0.1:{master_ui}/json/", timeout=2).json()
                if state.get("aliveworkers", 0) >= 1:
                    break
            except (httpx.HTTPError, ValueError):
                pass
            for p in procs:
                assert p.poll() is None, (work / "master.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "no Spark worker registered with the master"
            time.sleep(0.5)
        yield url
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_the_job_runs_on_a_standalone_cluster_shipping_its_own_code(
    cluster, bare_python, proxy_url, reviews, tmp_path
):
    sample = reviews.head(400)
    source = tmp_path / "reviews.csv"
    sample.to_csv(source, index=False)  # CSV with quoting this time
    out = tmp_path / "features"
    env = {
        **os.environ,
        "PYSPARK_PYTHON": bare_python,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    cmd = [
        sys.executable,
        "-m",
        "nlpfeat",
        "featurize",
        "--input",
        str(source),
        "--output",
        str(out),
        "--proxy",
        proxy_url,
        "--master",
        cluster,
        "--min-chars",
        "1",
        "--no-progress",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    info = json.loads((out / TABLE_METADATA_FILENAME).read_text())
    kept = sample[sample["document"].fillna("").str.len() >= 1]
    assert info["job"]["rows"]["featurized"] == len(kept)
    assert info["job"]["config"]["master"] == cluster
    table = pd.read_parquet(out)
    assert len(table) == len(kept) and table["error"].isna().all()
    assert set(table["id"]) == set(kept["id"])
