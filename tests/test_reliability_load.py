"""Load on loopback, bounded in time: concurrent clients against ``hush serve --workers 2``.

Every answer under load equals the answer to the same request sent alone, and nothing fails. Then a
worker is killed (SIGKILL) mid-load: gunicorn starts a new one, and the clients see at most the one
request that worker held fail (a sync worker holds one request at a time).
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

CLIENTS = 4
LOAD_SECONDS = 6.0
MAX_REQUESTS = 2_000  # per phase, whatever the machine's speed

ARTICLE = (
    '<article data-hush-id="a{n}"><h1 data-hush-id="h{n}">Harbour works, day {n}</h1>'
    + "".join(f'<p data-hush-id="p{{n}}x{k}">The harbour reopens after {k} months.</p>' for k in range(6))
    + '<aside data-hush-id="s{n}"><h3>Support our journalism</h3><p>We are reader-funded. Please donate '
    "monthly: $5, $10 or $25. Become a member today.</p><a href='/donate'>Donate now</a></aside></article>"
)


def payloads() -> list[tuple[bytes, dict[str, str]]]:
    """Distinct requests: pages, a fragment, a gzip body, a larger page and a request that is a 400."""
    plain = {"Content-Type": "application/json"}
    out = [(json.dumps({"html": ARTICLE.format(n=n)}).encode(), plain) for n in range(4)]
    fragment = "<div data-hush-id='f'>Chip in: donate $3 today!</div>"
    out.append((json.dumps({"html": fragment}).encode(), plain))
    zipped = gzip.compress(json.dumps({"html": ARTICLE.format(n=9)}).encode())
    out.append((zipped, {**plain, "Content-Encoding": "gzip"}))
    out.append((json.dumps({"html": "".join(ARTICLE.format(n=n) for n in range(40))}).encode(), plain))
    out.append((b'{"html": ', plain))
    return out


def send(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/v1/classify", body, headers)
        response = connection.getresponse()
        answer = json.loads(response.read())
        answer.pop("elapsed_ms", None)
        return response.status, answer
    finally:
        connection.close()


class Load:
    """Clients sending the payloads round-robin for a fixed time; answers compared with ``expected``."""

    def __init__(self, port: int, expected: list[tuple[int, Any]]) -> None:
        self.port, self.requests, self.expected = port, payloads(), expected
        self.sent = self.failed = 0
        self.mismatches: list[str] = []
        self.lock = threading.Lock()
        self.stop_at = 0.0

    def client(self, index: int) -> None:
        k = index
        while time.monotonic() < self.stop_at:
            with self.lock:
                if self.sent >= MAX_REQUESTS:
                    return
                self.sent += 1
            body, headers = self.requests[k % len(self.requests)]
            try:
                got = send(self.port, body, headers)
            except (OSError, http.client.HTTPException, ValueError):
                with self.lock:
                    self.failed += 1
            else:
                if got != self.expected[k % len(self.requests)]:
                    with self.lock:
                        self.mismatches.append(f"request {k % len(self.requests)}: {got}")
            k += 1

    def run(self, seconds: float, during: Any = None) -> None:
        self.stop_at = time.monotonic() + seconds
        threads = [threading.Thread(target=self.client, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        if during is not None:
            during()
        for thread in threads:
            thread.join(timeout=seconds + 60)
        assert not any(thread.is_alive() for thread in threads)


@pytest.fixture(scope="module")
def served(start_hush) -> Iterator[tuple[Any, list[tuple[int, Any]]]]:
    """``hush serve --workers 2`` and the answer to each payload sent alone."""
    with start_hush("--workers", "2") as server:
        alone = [send(server.port, body, headers) for body, headers in payloads()]
        assert [status for status, _ in alone] == [200] * 7 + [400]
        yield server, alone


def test_answers_under_load_equal_answers_alone(served, reliability_counts):
    server, alone = served
    load = Load(server.port, alone)
    load.run(LOAD_SECONDS)
    reliability_counts["load_requests"] += load.sent
    reliability_counts["load_failures"] += load.failed + len(load.mismatches)
    assert load.failed == 0 and load.mismatches == []
    assert load.sent >= 2 * len(load.requests)


def test_a_killed_worker_is_replaced_and_costs_at_most_its_request(served, reliability_counts):
    server, alone = served
    before = server.workers()
    assert len(before) == 2
    victim = min(before)

    def kill_one() -> None:
        time.sleep(LOAD_SECONDS / 3)
        os.kill(victim, signal.SIGKILL)

    load = Load(server.port, alone)
    load.run(LOAD_SECONDS, during=kill_one)
    reliability_counts["load_requests"] += load.sent
    reliability_counts["load_failures_after_kill"] += load.failed
    assert load.mismatches == []
    assert load.failed <= 1, f"{load.failed} requests failed when one sync worker was killed"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        after = server.workers()
        if len(after) == 2 and victim not in after:
            break
        time.sleep(0.1)
    assert len(after) == 2 and victim not in after and after - before, f"workers {before} -> {after}"
    assert send(server.port, *payloads()[0]) == alone[0]
