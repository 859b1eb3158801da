"""Over HTTP: `hush serve --workers 2` under a bounded loopback load, with the workers' memory."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from bench.common import ROOT, pct, stamped, tests_module


def _start(port: int, workers: int, log: Path, env: dict[str, str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "server.cli", "serve", "--workers", str(workers), "--port", str(port)]
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env}
        )
    serving = tests_module("browser_support").wait_until_serving
    try:
        serving(proc, f"http://127.0.0.1:{port}", 60, log.read_text, lambda: len(_workers(proc)) >= workers)
    except RuntimeError:
        proc.terminate()
        raise
    return proc


def _workers(proc: subprocess.Popen) -> list[psutil.Process]:
    try:
        return psutil.Process(proc.pid).children()
    except psutil.NoSuchProcess:
        return []


def _rss_mb(proc: subprocess.Popen) -> list[float]:
    return [round(w.memory_info().rss / 2**20, 1) for w in _workers(proc)]


def _post(port: int, body: bytes) -> tuple[bool, float, float]:
    """One request: (ok, client latency ms, server elapsed_ms)."""
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/v1/classify", body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        ms = (time.perf_counter() - t0) * 1000
        answer = json.loads(data) if resp.status == 200 else {}
        return resp.status == 200 and "hide" in answer, ms, float(answer.get("elapsed_ms", 0.0))
    except (OSError, http.client.HTTPException, ValueError):
        return False, (time.perf_counter() - t0) * 1000, 0.0
    finally:
        conn.close()


def run(
    page: Path,
    clients: int,
    requests: int,
    seconds: float,
    log: Callable[[str], None],
    workers: int = 2,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`clients` threads post the stamped page until `requests` are done or `seconds` have passed; `env`
    is added to the server's environment."""
    html = stamped(page)
    body = json.dumps({"url": "https://example.org/bench", "html": html}).encode()
    port = tests_module("browser_support").free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = _start(port, workers, Path(tmp) / "serve.log", env or {})
        try:
            rss_start = _rss_mb(proc)
            for _ in range(20):
                _post(port, body)
            rss_warm = _rss_mb(proc)
            latencies: list[float] = []
            server_ms: list[float] = []
            errors = 0
            done = 0
            samples: list[tuple[int, list[float]]] = [(0, rss_warm)]
            lock = threading.Lock()
            deadline = time.monotonic() + seconds

            def client() -> None:
                nonlocal done, errors
                while time.monotonic() < deadline:
                    with lock:
                        if done >= requests:
                            return
                        done += 1
                        n = done
                    ok, ms, srv = _post(port, body)
                    with lock:
                        latencies.append(ms)
                        server_ms.append(srv)
                        errors += not ok
                    if n % 1000 == 0:
                        samples.append((n, _rss_mb(proc)))
                        log(f"  load: {n}/{requests} requests, worker RSS {samples[-1][1]} MB")

            t0 = time.perf_counter()
            threads = [threading.Thread(target=client) for _ in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            rss_end = _rss_mb(proc)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    n = len(latencies)
    return {
        "page": page.name,
        "page_bytes": len(html.encode()),
        "body_bytes": len(body),
        "workers": workers,
        "env": env or {},
        "clients": clients,
        "requests": n,
        "limit_requests": requests,
        "limit_seconds": seconds,
        "seconds": wall,
        "rps": n / wall if wall else 0.0,
        "errors": errors,
        "latency_ms": {f"p{q}": pct(latencies, q) for q in (50, 95, 99)} | {"max": max(latencies, default=0)},
        "server_ms": {f"p{q}": pct(server_ms, q) for q in (50, 95, 99)},
        "rss_mb": {"start": rss_start, "warm": rss_warm, "end": rss_end, "samples": samples},
    }
