"""Other processes' CPU use while the benchmark runs: a gate that waits for a quiet machine, and a sampler
that says how much CPU the rest of the machine took during each part."""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable

import psutil


def _mine() -> set[int]:
    me = psutil.Process(os.getpid())
    return {me.pid, *(p.pid for p in me.children(recursive=True))}


class Sampler(threading.Thread):
    """Every `every` seconds, the CPU (in cores) used by processes outside this benchmark's process tree."""

    def __init__(self, every: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.samples: list[tuple[float, float]] = []  # (monotonic time, other processes' cores)
        self.procs: dict[int, psutil.Process] = {}
        self.stop = threading.Event()

    def others(self) -> float:
        mine = _mine()
        total = 0.0
        for proc in psutil.process_iter():
            if proc.pid in mine:
                continue
            known = self.procs.setdefault(proc.pid, proc)
            try:
                total += known.cpu_percent()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                self.procs.pop(proc.pid, None)
        return total / 100

    def run(self) -> None:
        self.others()  # the first reading of each process is 0: prime them
        while not self.stop.wait(self.every):
            self.samples.append((time.monotonic(), self.others()))

    def mean_since(self, t0: float) -> float:
        window = [cores for t, cores in self.samples if t >= t0]
        return statistics.fmean(window) if window else 0.0


def wait_quiet(sampler: Sampler, log: Callable[[str], None], limit: float, max_wait: float) -> float:
    """Wait (at most max_wait s) until other processes use under `limit` cores; the seconds waited."""
    t0 = time.monotonic()
    while True:
        time.sleep(sampler.every * 2.5)
        recent = sampler.mean_since(time.monotonic() - sampler.every * 2.5)
        waited = time.monotonic() - t0
        if recent < limit or waited >= max_wait:
            if recent >= limit:
                log(f"  other processes still use {recent:.1f} cores after {waited:.0f} s: going on")
            return waited
        log(f"  waiting for a quiet machine: other processes use {recent:.1f} cores")
