"""The demo's supervisor stops what it started, also when the block fails."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from nlpfeat._services import ServiceFailed, free_port, service


def test_a_failing_block_still_stops_the_process(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["proxy", "--upstream", "http://127.0.0.1:9", "--port", str(port)]
    with pytest.raises(RuntimeError, match="stage failed"):  # noqa: SIM117
        with service("proxy", args, f"{url}/_proxy/healthz", log_dir=tmp_path) as proc:
            assert httpx.get(f"{url}/_proxy/healthz").status_code == 200
            raise RuntimeError("stage failed")
    assert proc.poll() is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/_proxy/healthz")


def test_a_process_that_dies_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    args = ["proxy", "--upstream", "not-a-url", "--port", str(free_port())]
    with pytest.raises(ServiceFailed, match="upstream"):  # noqa: SIM117
        with service("proxy", args, "http://127.0.0.1:9/", log_dir=tmp_path, timeout=30):
            pass
