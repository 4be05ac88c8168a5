"""UpstreamPool: several NLP API instances, least-outstanding choice, ejection, readiness checks.

An upstream takes traffic while it is *healthy*: not ejected and passing its readiness check.

* **Passive ejection.** The forwarder reports every attempt with ``record``. After
  ``eject_after`` consecutive failures (connect error, timeout, 502/503/504) the upstream rests
  for ``eject_seconds``; any success resets the count. The count is kept through the rest, so
  when it ends the first request acts as a probe: one more failure ejects it again at once.
* **Active checks.** ``check_once`` / ``check_forever`` GET ``<url><check_path>`` on every
  upstream; anything but 200 takes it out of rotation until a check passes again. A passing
  check also ends an ejection early (the API restarted, or finished loading), except an
  ejection for timeouts: a slow upstream still answers ``/readyz`` quickly, so that one runs
  its course.
* **Nothing healthy.** ``pick`` raises ``NoHealthyUpstream`` (503 with ``Retry-After``) rather
  than trying an upstream that just failed ``eject_after`` times or says it is not ready: the
  client learns at once when to come back instead of waiting on a connect timeout.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import aiohttp

from contracts.headers import UPSTREAM_TOKEN

from ._config import UpstreamConfig
from ._errors import NoHealthyUpstream
from ._metrics import ProxyMetrics

__all__ = ["Upstream", "UpstreamPool"]

_SLOW = "timeout"
"""The failure kind a passing readiness check does not disprove."""

log = logging.getLogger(__name__)


@dataclass(eq=False, slots=True)
class Upstream:
    """One NLP API instance and what the proxy knows about it (compared by identity)."""

    url: str
    outstanding: int = 0
    """Requests forwarded to it and not finished (response body included)."""
    consecutive_failures: int = 0
    ejected_until: float = 0.0
    """Clock time the passive ejection ends; in the past when not ejected."""
    last_failure: str | None = None
    """Kind of the latest failure: connect, timeout, disconnect, protocol, status_5xx."""
    check_ok: bool = True
    """Result of the latest readiness check (True before the first one)."""
    check_detail: str = "not checked yet"

    def ejected(self, now: float) -> bool:
        return now < self.ejected_until

    def healthy(self, now: float) -> bool:
        """Takes traffic: passing its check and not ejected."""
        return self.check_ok and not self.ejected(now)


class UpstreamPool:
    """The upstreams of ``config.urls`` with their health; ``clock`` is monotonic seconds."""

    def __init__(
        self,
        config: UpstreamConfig,
        metrics: ProxyMetrics,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._metrics = metrics
        self._clock = clock
        self._token = config.resolved_token
        self._upstreams = tuple(Upstream(url.rstrip("/")) for url in config.urls)
        self._cursor = 0
        for up in self._upstreams:
            self._publish(up, clock())

    @property
    def upstreams(self) -> tuple[Upstream, ...]:
        return self._upstreams

    def pick(self, exclude: Collection[Upstream] = ()) -> Upstream:
        """The healthy upstream with the fewest outstanding requests, not in ``exclude``.

        Ties go round-robin, so sequential requests alternate. Raises ``NoHealthyUpstream``
        when no candidate is healthy.
        """
        now = self._clock()
        n = len(self._upstreams)
        best: Upstream | None = None
        best_at = 0
        for step in range(n):
            at = (self._cursor + step) % n
            up = self._upstreams[at]
            if up in exclude or not up.healthy(now):
                continue
            if best is None or up.outstanding < best.outstanding:
                best, best_at = up, at
        if best is None:
            raise self._none_healthy(now, exclude)
        self._cursor = (best_at + 1) % n
        return best

    def record(self, upstream: Upstream, ok: bool, kind: str | None = None) -> None:
        """Count one forwarding attempt; ``kind`` names a failure (``Upstream.last_failure``)."""
        if ok:
            upstream.consecutive_failures = 0
            return
        now = self._clock()
        kind = kind or "error"
        self._metrics.upstream_errors.labels(upstream=upstream.url, kind=kind).inc()
        upstream.consecutive_failures += 1
        upstream.last_failure = kind
        if upstream.consecutive_failures >= self._config.eject_after and not upstream.ejected(now):
            upstream.ejected_until = now + self._config.eject_seconds
            log.warning(
                "upstream %s ejected for %.3g s after %d consecutive failures (last: %s)",
                upstream.url,
                self._config.eject_seconds,
                upstream.consecutive_failures,
                kind,
            )
        self._publish(upstream, now)

    async def check_once(self, session: aiohttp.ClientSession) -> None:
        """Check every upstream's readiness once, concurrently."""
        await asyncio.gather(*(self._check(session, up) for up in self._upstreams))
        now = self._clock()
        for up in self._upstreams:
            self._publish(up, now)

    async def check_forever(self, session: aiohttp.ClientSession) -> None:
        """``check_once`` now and then every ``check_interval`` seconds, until cancelled.

        Give it a session of its own: checks queued behind a saturated forwarding pool
        would time out and take healthy upstreams out of rotation.
        """
        while True:
            try:
                await self.check_once(session)
            except Exception:
                log.exception("upstream readiness checks failed; trying again")
            await asyncio.sleep(self._config.check_interval)

    def snapshot(self) -> list[dict[str, Any]]:
        """Per upstream, for ``/_proxy/healthz``."""
        now = self._clock()
        out = []
        for up in self._upstreams:
            self._publish(up, now)
            out.append(
                {
                    "url": up.url,
                    "healthy": up.healthy(now),
                    "outstanding": up.outstanding,
                    "consecutive_failures": up.consecutive_failures,
                    "ejected_for": round(max(0.0, up.ejected_until - now), 3),
                    "check": "ok" if up.check_ok else up.check_detail,
                }
            )
        return out

    async def _check(self, session: aiohttp.ClientSession, up: Upstream) -> None:
        limit = min(1.0, self._config.check_interval)
        headers = {UPSTREAM_TOKEN: self._token} if self._token else None
        try:
            async with session.get(
                up.url + self._config.check_path,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=limit),
                allow_redirects=False,
            ) as resp:
                failure = None if resp.status == 200 else f"HTTP {resp.status}"
        except TimeoutError:
            failure = f"no answer within {limit:g} s"
        except (aiohttp.ClientError, OSError) as exc:
            failure = str(exc) or type(exc).__name__
        self._checked(up, failure)

    def _checked(self, up: Upstream, failure: str | None) -> None:
        path = self._config.check_path
        if failure is not None:
            self._metrics.upstream_errors.labels(upstream=up.url, kind="check").inc()
            if up.check_ok:
                log.warning("upstream %s failing %s: %s", up.url, path, failure)
            up.check_ok, up.check_detail = False, f"{path}: {failure}"
            return
        if not up.check_ok:
            log.warning("upstream %s passing %s again", up.url, path)
        up.check_ok, up.check_detail = True, "ok"
        if up.ejected(self._clock()) and up.last_failure != _SLOW:
            log.warning("upstream %s readmitted early: %s passed", up.url, path)
            up.ejected_until = 0.0
            up.consecutive_failures = 0

    def _none_healthy(self, now: float, exclude: Collection[Upstream]) -> NoHealthyUpstream:
        reasons, waits = [], []
        for up in self._upstreams:
            if up in exclude:
                continue
            wait = max(0.0, up.ejected_until - now)
            if wait:
                reasons.append(
                    f"{up.url} ejected for {wait:.1f} s after {up.consecutive_failures} "
                    f"failures ({up.last_failure})"
                )
            if not up.check_ok:
                wait = max(wait, self._config.check_interval)
                reasons.append(f"{up.url} failing {up.check_detail}")
            waits.append(wait)
        retry_after = max(1, math.ceil(min(waits, default=1.0)))
        detail = (
            f"No NLP API upstream can take requests: {'; '.join(reasons) or 'all tried'}. "
            f"Retry after {retry_after} s. Is the NLP API running? Start it with `nlpfeat api`; "
            "see /_proxy/healthz."
        )
        urls = ", ".join(up.url for up in self._upstreams if up not in exclude)
        return NoHealthyUpstream(urls, detail, retry_after)

    def _publish(self, up: Upstream, now: float) -> None:
        self._metrics.upstream_healthy.labels(upstream=up.url).set(1 if up.healthy(now) else 0)
