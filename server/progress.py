"""Progress of long command-line steps on stderr: a bar redrawn in place on a terminal; when stderr is a
file or a pipe, one line as a step starts and one as it ends."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 24


class ProgressBar:
    """Call with (step, done, total); steps follow each other, each drawn as ``step [####----] 3/5``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.step: str | None = None
        self.ended = False  # the current step's last line is written (lines mode)
        self.started = time.perf_counter()

    def __call__(self, step: str, done: int, total: int) -> None:
        if step != self.step:
            self.finish()
            self.step, self.ended, self.started = step, False, time.perf_counter()
            if not self.live:
                self.stream.write(f"  {step} [0/{total}]\n")
        if self.live:
            filled = WIDTH * min(done, total) // max(total, 1)
            self.stream.write(f"\r  {step} [{'#' * filled}{'-' * (WIDTH - filled)}] {done}/{total}")
        elif done >= total and not self.ended:
            self.ended = True
            self.stream.write(f"  {step}: done in {time.perf_counter() - self.started:.1f} s\n")
        self.stream.flush()

    def finish(self) -> None:
        """End the current step's line on a terminal, with the time it took."""
        if self.live and self.step is not None:
            self.stream.write(f" {time.perf_counter() - self.started:.1f} s\n")
            self.stream.flush()
        self.step = None
