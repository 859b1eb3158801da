"""In one process: classify (by stage) against a bare lxml parse and trafilatura.extract, page by page."""

from __future__ import annotations

import cProfile
import gc
import io
import logging
import pstats
import statistics
import time
from collections.abc import Callable
from typing import Any

import lxml.html

from bench.common import Page, summary
from model import HushModel

STAGES = ("parse", "segment", "features", "predict")


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def walk(html: str) -> int:
    """A bare parse, then a Python loop over every element reading its tag, text, tail and class: the
    least any Python code that looks at each element pays (how many elements it saw)."""
    seen = 0
    for element in lxml.html.fromstring(html).iter():
        _ = element.tag, element.text, element.tail, element.get("class")
        seen += 1
    return seen


def measure_page(model: HushModel, html: str, repeats: int) -> dict[str, float]:
    """Median over `repeats` of each measure (ms), the four measures interleaved."""
    import trafilatura

    runs: dict[str, list[float]] = {k: [] for k in ("classify", "bare", "walk", "trafilatura", *STAGES)}
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = model.classify(html)
        runs["classify"].append((time.perf_counter() - t0) * 1000)
        for stage in STAGES:
            runs[stage].append(result.timings.get(stage, 0.0))
        runs["bare"].append(_timed(lambda: lxml.html.fromstring(html)))
        runs["walk"].append(_timed(lambda: walk(html)))
        runs["trafilatura"].append(_timed(lambda: trafilatura.extract(html)))
    return {k: statistics.median(v) for k, v in runs.items()}


def run(model: HushModel, pages: list[Page], repeats: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Per-page timings, their medians and p95, and the per-page ratios to the bare parse and trafilatura."""
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    for page in pages[:3]:  # warm caches and lazy imports
        measure_page(model, page.html, 1)
    rows = []
    for i, page in enumerate(pages, 1):
        gc.collect()
        t = measure_page(model, page.html, repeats)
        t["other"] = max(0.0, t["classify"] - sum(t[s] for s in STAGES))
        rows.append({"name": page.name, "source": page.source, "bytes": len(page.html.encode()), **t})
        if i % 50 == 0 or i == len(pages):
            log(f"  in-process: {i}/{len(pages)} pages")
    keys = ("classify", *STAGES, "other", "bare", "walk", "trafilatura")
    out: dict[str, Any] = {"rows": rows, "repeats": repeats, "time": {}, "ratio": {}, "by_source": {}}
    out["time"] = {k: summary([r[k] for r in rows]) for k in keys}
    out["ratio"]["bare"] = summary([r["classify"] / r["bare"] for r in rows])
    out["ratio"]["trafilatura"] = summary([r["classify"] / r["trafilatura"] for r in rows])
    out["ratio"]["walk"] = summary([r["walk"] / r["bare"] for r in rows])
    out["faster_than_trafilatura"] = sum(r["classify"] < r["trafilatura"] for r in rows) / len(rows)
    for source in sorted({r["source"] for r in rows}):
        sub = [r for r in rows if r["source"] == source]
        out["by_source"][source] = {
            "pages": len(sub),
            "bytes": summary([r["bytes"] for r in sub]),
            "classify": summary([r["classify"] for r in sub]),
            "bare": summary([r["bare"] for r in sub]),
            "trafilatura": summary([r["trafilatura"] for r in sub]),
            "ratio_bare": summary([r["classify"] / r["bare"] for r in sub]),
            "ratio_trafilatura": summary([r["classify"] / r["trafilatura"] for r in sub]),
        }
    return out


def profile(model: HushModel, pages: list[Page], top: int = 15) -> dict[str, Any]:
    """cProfile of one classify call per page: the functions with the most own time, and by module."""
    prof = cProfile.Profile()
    prof.enable()
    for page in pages:
        model.classify(page.html)
    prof.disable()
    return digest(pstats.Stats(prof, stream=io.StringIO()), top) | {"pages": len(pages)}


def digest(stats: pstats.Stats, top: int = 15) -> dict[str, Any]:
    """The functions with the most own time, and own time summed by module (model/ file or package)."""
    total = stats.total_tt  # type: ignore[attr-defined]
    entries = []
    by_module: dict[str, float] = {}
    for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = _short(file)
        entries.append({"func": f"{where}:{line}({func})", "calls": nc, "tottime": tt, "cumtime": ct})
        if file == "~":  # C functions: lxml's show up as methods of lxml objects
            module = "lxml (C)" if "lxml" in func else "Python built-ins"
        elif where.startswith("model/"):
            module = where
        else:
            module = where.split("/")[0] if "/" in where else "other Python"
        by_module[module] = by_module.get(module, 0.0) + tt
    entries.sort(key=lambda e: -e["tottime"])
    modules = sorted(by_module.items(), key=lambda kv: -kv[1])
    return {"total_s": total, "top": entries[:top], "modules": modules[:10]}


def _short(file: str) -> str:
    for marker in ("/model/", "/sklearn/", "/numpy/", "/scipy/", "/lxml/"):
        if marker in file:
            return marker.strip("/") + "/" + file.split(marker, 1)[1]
    return file.rsplit("/", 1)[-1]
