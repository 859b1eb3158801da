"""docs/BENCHMARKS.md and docs/benchmarks-classify.png from the results of a run."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from bench.common import ROOT, median_interval

DOC = ROOT / "docs" / "BENCHMARKS.md"
PLOT = ROOT / "docs" / "benchmarks-classify.png"
COMMAND = "pip install -r bench/requirements.txt && python -m bench.run"


def _f(x: float | None, unit: str = "", digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:,.{digits}f}{unit}"


def _range(loads: list[float] | None) -> str:
    """The spread of a median's loads, so that a verdict inside the noise reads as one."""
    return f"loads {min(loads):.0f} to {max(loads):.0f} ms" if loads else "spread not recorded"


def bar(
    part: str,
    name: str,
    measured: float | None,
    limit: float,
    unit: str,
    shown: str = "",
    interval: tuple[float, float] | None = None,
) -> dict:
    """One bar: met when measured <= limit; otherwise by how much it is missed. With ``interval`` (the
    median's 95% interval), a verdict the noise could turn says so."""
    row = {"part": part, "bar": name, "measured": shown or _f(measured, unit, 2 if unit in ("×", "") else 1)}
    if measured is None or math.isnan(measured):
        row["result"] = "not measured"
        return row
    if measured <= limit:
        row["result"] = "met"
    else:
        over = measured - limit
        row["result"] = (
            f"**missed** by {_f(over, unit, 2 if unit in ('×', '') else 1)} ({measured / limit:.1f}× the bar)"
        )
    if interval and interval[0] <= limit <= interval[1]:
        row["result"] += (
            f", within the noise: the median's 95% interval, {_f(interval[0])} to {_f(interval[1], unit)}, "
            "holds the bar"
        )
    return row


def bars(r: dict[str, Any]) -> list[dict]:
    out = []
    ip = r.get("inproc")
    if ip:
        out.append(
            bar("classify", "median classify / bare lxml parse ≤ 3×", ip["ratio"]["bare"]["median"], 3, "×")
        )
        out.append(bar("classify", "p95 classify / bare lxml parse ≤ 5×", ip["ratio"]["bare"]["p95"], 5, "×"))
        out.append(
            bar(
                "classify",
                "median classify / trafilatura.extract < 1×",
                ip["ratio"]["trafilatura"]["median"],
                1,
                "×",
            )
        )
    ld, one = r.get("load"), r.get("load_1thread")
    if ld:
        runs = [("", ld)] + ([(" (OMP_NUM_THREADS=1)", one)] if one else [])
        for tag, run in runs:
            errors = f"{run['errors']} of {run['requests']:,}"
            out.append(bar("HTTP", f"errors = 0{tag}", run["errors"], 0, "", shown=errors))
            out.append(bar("HTTP", f"p99 latency < 250 ms{tag}", run["latency_ms"]["p99"], 250, " ms"))
        mem = max((run for _, run in runs), key=lambda run: run["requests"])
        growth = _growth(mem["rss_mb"]["start"], mem["rss_mb"]["end"])
        tag = " (OMP_NUM_THREADS=1)" if mem is one else ""
        out.append(
            bar(
                "HTTP",
                f"worker RSS growth over {mem['requests']:,} requests < 10%{tag}",
                growth,
                10,
                "%",
                shown=f"{_f(growth, '%')} ({_mb(mem['rss_mb']['start'])} → {_mb(mem['rss_mb']['end'])})",
            )
        )
    br = r.get("browser", {})
    pl = br.get("payload", {})
    if pl.get("median_page"):
        out.append(
            bar(
                "extension",
                "payload ≤ 30% of raw outerHTML (median real page)",
                pl["ratio"]["median"] * 100,
                30,
                "%",
            )
        )
    if "big" in br:
        big = br["big"]
        own = big.get("own", big["busy"])
        loads = big.get("own_loads")
        out.append(
            bar(
                "extension",
                "content-script main-thread time ≤ 50 ms (1 MB page)",
                own,
                50,
                " ms",
                shown=f"{_f(own, ' ms')} its own (sliced {_f(big['busy'], ' ms')}, other "
                f"{_f(big.get('other', 0.0), ' ms')}; {_range(loads)}); "
                f"{_f(big['js'], ' ms')} under the profiler",
                interval=median_interval(loads) if loads else None,
            )
        )
        for key, label in (("article", "article page"), ("big", "1 MB page")):
            ms = br[key]["to_collapsed"]
            shown = f"{-ms:.0f} ms before `load` fired" if ms < 0 else ""
            out.append(bar("extension", f"load → collapsed ≤ 300 ms ({label})", ms, 300, " ms", shown=shown))
    tr = r.get("training")
    if tr:
        out.append(bar("model", "training on corpus ≤ 60 s", tr["train_corpus_s"], 60, " s"))
        if tr.get("train_all_s"):
            out.append(bar("model", "training on corpus + real pages ≤ 60 s", tr["train_all_s"], 60, " s"))
        out.append(bar("model", "model file ≤ 5 MB", tr["model_bytes"] / 1e6, 5, " MB"))
        out.append(bar("model", "load_model() ≤ 1 s", tr["load"]["load_s"], 1, " s"))
    return out


def _growth(start: list[float], end: list[float]) -> float:
    return (sum(end) - sum(start)) / sum(start) * 100 if start and end else math.nan


def _mb(values: list[float]) -> str:
    return " + ".join(f"{v:.0f}" for v in values) + " MB"


def _minutes(r: dict[str, Any]) -> float:
    parts = r.get("noise", {}).values()
    if parts and all("minutes" in p for p in parts):
        return sum(p["minutes"] + p["waited_s"] / 60 for p in parts)
    return r["duration_s"] / 60


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def plot(ip: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(ip["rows"], key=lambda row: row["bytes"])
    kb = [row["bytes"] / 1024 for row in rows]
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    ax.scatter(
        kb, [row["trafilatura"] for row in rows], s=9, c="tab:gray", alpha=0.5, label="trafilatura.extract"
    )
    ax.scatter(kb, [row["classify"] for row in rows], s=12, c="tab:red", label="Hush classify")
    bare = _smooth([row["bare"] for row in rows])
    ax.plot(kb, bare, c="tab:blue", lw=2, label="bare lxml.html.fromstring (running median)")
    ax.plot(kb, [3 * b for b in bare], c="tab:blue", lw=1, ls="--", label="3× bare parse (the bar)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("page size, stamped HTML (KB)")
    ax.set_ylabel("time per page (ms)")
    ax.set_title("Classify time against page size")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT)
    plt.close(fig)


def _smooth(values: list[float], width: int = 15) -> list[float]:
    half = width // 2
    out = []
    for i in range(len(values)):
        window = sorted(values[max(0, i - half) : i + half + 1])
        out.append(window[len(window) // 2])
    return out


def _profile_table(prof: dict[str, Any], n: int = 12) -> str:
    total = prof["total_s"]
    rows = [
        [
            f"`{e['func']}`",
            f"{e['calls']:,}",
            f"{e['tottime']:.2f}",
            f"{e['tottime'] / total:.0%}",
            f"{e['cumtime']:.2f}",
        ]
        for e in prof["top"][:n]
    ]
    return _table(["function", "calls", "own s", "share", "cumulative s"], rows)


def _modules_table(prof: dict[str, Any]) -> str:
    total = prof["total_s"]
    return _table(
        ["where", "own s", "share"], [[f"`{m}`", f"{s:.2f}", f"{s / total:.0%}"] for m, s in prof["modules"]]
    )


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Speed, memory and load of Hush against a bare parse and against the peers, in one run. "
        "Generated by `bench/` — do not edit by hand; rerun the command below.",
        "",
        "```sh",
        COMMAND + (" --quick" if r["quick"] else ""),
        "```",
        "",
        "`--quick` takes a quarter of the pages, 500 requests and no training on the real pages (a few "
        "minutes); `--only inproc,load,browser,training` reruns some parts and keeps the "
        "others' last results (`bench/results.json`); `--clients N` sets the HTTP load; `--max-wait S` "
        "how long each part waits for other processes to quieten down. Real pages are read from "
        "`../shared/realpages/` at run time, and skipped with a note when it is absent.",
        "",
        f"- Run: started {r['started']} UTC; the parts took {_minutes(r):.0f} min"
        + (" (**--quick**: a subset)." if r["quick"] else "."),
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['mem_gb']:.1f} GB memory, {m['os']}; "
        f"load average {m['loadavg_start']} at the start, {m.get('loadavg_end', '–')} at the end.",
        f"- Code: commit {m['git']}.",
        f"- Software: Python {m['python']}, lxml {m['lxml']}, scikit-learn {m['sklearn']}, "
        f"trafilatura {m['trafilatura']}, {m['chromium']}.",
        f"- Model: `{r['model_start']['version']}` (file sha256 {r['model_start']['sha256']}…)"
        + (
            ""
            if r["model_start"] == r["model_end"]
            else f"; **the shipped model changed during the run**, to `{r['model_end']['version']}`"
        )
        + ".",
    ]
    if r.get("noise"):
        lines.append(
            "- Other processes on the machine during each part (CPU cores in use on average; the run waits "
            "for a quiet machine before each part): "
            + ", ".join(
                f"{k} {v['other_cores']:.2f}"
                + (f" (done {v['at']} UTC, {v['minutes']:.0f} min)" if "at" in v else "")
                for k, v in r["noise"].items()
            )
            + "."
        )
    for note in r.get("notes", []):
        lines.append(f"- {note}")
    lines += [
        "",
        "## Bars",
        "",
        _table(["part", "bar", "measured", "result"], [list(b.values()) for b in bars(r)]),
    ]
    lines += _inproc_section(r)
    lines += _load_section(r)
    lines += _browser_section(r)
    lines += _training_section(r)
    lines += ["", "## Method", ""] + [f"- {x}" for x in METHOD]
    return "\n".join(lines) + "\n"


METHOD = [
    "Pages: every `.html` under `corpus/pages/` and, when `../shared/realpages/` exists, every real page "
    "there (read at run time only). Each page is parsed, its `data-hush-label` attributes dropped and every "
    "body element stamped with `data-hush-id` (`model.labelled.stamp_all`, as the extension stamps), then "
    "serialised: that one string is given to all three contenders.",
    "In-process: per page, classify, `lxml.html.fromstring`, the walk (`bench.inproc.walk`) and "
    "`trafilatura.extract` (default options) run interleaved, each timed with `perf_counter` as the median "
    "of the repeats; the ratios are taken page by page, then summarised (median, p95 nearest-rank). "
    "`other` is classify's wall time outside its four timed stages (deciding which ids to hide, building "
    "the answer).",
    "HTTP: `python -m server.cli serve --workers 2` on a free loopback port; 20 warm-up requests; then a "
    "fixed number of client threads, each posting the stamped median-sized real page with a fresh "
    "connection (gunicorn's sync workers close it), until the request budget or the time limit is reached. "
    "Latency is the client's; the server's own `elapsed_ms` is shown beside it. Worker memory is the RSS of "
    "gunicorn's worker processes (psutil), at start before any request, and every 1,000 requests.",
    "Browser: Debian Chromium, headless, with the unpacked extension (tests/browser_support.py), test pages "
    "served from loopback. Main-thread time is the content script's own account of its work, timed with "
    "`performance.now()` around each piece: its sliced DOM work (`busyMs`) and its other synchronous work "
    "(`otherMs`: handing the copy to `runtime.sendMessage`, joining it, collapsing, noting mutations); the "
    "bar is read on the median of their sum over the loads, given with its 95% interval (the order "
    "statistics that hold the median that often whatever the distribution). Beside it, from Chrome's "
    "CPU profiler (100 µs sampling, separate loads), "
    "every sample spent in the extension's scripts or in DOM calls they make: a cross-check that the "
    "sampling itself inflates, by more on some runs than on others. Load → collapsed is from "
    "`loadEventStart` to the first element getting "
    "`data-hush-hidden` (a MutationObserver in the page). Payload is what the serialiser sends against "
    "`document.documentElement.outerHTML` at `DOMContentLoaded`, before any stamp; the endpoint for this "
    'part is a stub answering `{"hide": []}`. Each real page is loaded at the address it was captured from '
    "(its sidecar's `url`; the browser is handed the file, nothing reaches the network), so that links to "
    "its own site are sent as paths, as on the live site; a page without one is served from loopback.",
    "Model: `hush train` in a fresh process (wall time), the shipped model file's size, and `load_model()` "
    "in fresh processes (median of the runs; imports timed apart).",
]


def _inproc_section(r: dict[str, Any]) -> list[str]:
    ip = r.get("inproc")
    if not ip:
        return []
    t = ip["time"]
    lines = [
        "",
        "## Classify against a bare parse and trafilatura (in process)",
        "",
        f"{len(ip['rows'])} pages, median of {ip['repeats']} runs each, OpenMP held to one thread so that "
        "all three run on one core. Times in ms.",
        "",
        _table(
            ["measure", "median", "p95", "max"],
            [
                [k, _f(t[k]["median"], "", 2), _f(t[k]["p95"], "", 2), _f(t[k]["max"], "", 1)]
                for k in (
                    "classify",
                    "parse",
                    "segment",
                    "features",
                    "predict",
                    "other",
                    "bare",
                    "walk",
                    "trafilatura",
                )
                if k in t
            ],
        ),
        "",
        "Page by page:",
        "",
        _table(
            [
                "pages",
                "n",
                "median size",
                "classify median",
                "bare median",
                "trafilatura median",
                "classify/bare median",
                "p95",
                "classify/trafilatura median",
                "p95",
            ],
            [
                [
                    src,
                    str(s["pages"]),
                    _f(s["bytes"]["median"] / 1024, " KB"),
                    _f(s["classify"]["median"], " ms", 2),
                    _f(s["bare"]["median"], " ms", 2),
                    _f(s["trafilatura"]["median"], " ms", 2),
                    _f(s["ratio_bare"]["median"], "×", 2),
                    _f(s["ratio_bare"]["p95"], "×", 2),
                    _f(s["ratio_trafilatura"]["median"], "×", 2),
                    _f(s["ratio_trafilatura"]["p95"], "×", 2),
                ]
                for src, s in ip["by_source"].items()
            ]
            + [
                [
                    "all",
                    str(len(ip["rows"])),
                    "",
                    _f(t["classify"]["median"], " ms", 2),
                    _f(t["bare"]["median"], " ms", 2),
                    _f(t["trafilatura"]["median"], " ms", 2),
                    _f(ip["ratio"]["bare"]["median"], "×", 2),
                    _f(ip["ratio"]["bare"]["p95"], "×", 2),
                    _f(ip["ratio"]["trafilatura"]["median"], "×", 2),
                    _f(ip["ratio"]["trafilatura"]["p95"], "×", 2),
                ]
            ],
        ),
        "",
        f"Classify was faster than trafilatura on {ip['faster_than_trafilatura']:.0%} of the pages.",
        *_walk_floor(ip),
        "",
        f"![classify time against page size]({PLOT.name})",
    ]
    prof = r.get("profile")
    if prof:
        lines += [
            "",
            f"### Where classify's time goes (cProfile, one classify per page, {prof['pages']} pages, "
            f"{prof['total_s']:.1f} s under the profiler)",
            "",
            _modules_table(prof),
            "",
            _profile_table(prof),
        ]
    return lines


def _walk_floor(ip: dict[str, Any]) -> list[str]:
    """What the 3× bar leaves once Python has only visited each element (*walk* in the table)."""
    walk = ip["ratio"].get("walk")
    if not walk:
        return []
    return [
        "",
        "*walk* is the floor under the 3× bar for code written in Python: a bare parse, then a loop that "
        "only visits every element and reads its tag, text, tail and class (`bench.inproc.walk`). It "
        f"takes {_f(walk['median'], '×', 2)} the bare parse on the median page ({_f(walk['p95'], '×', 2)} "
        f"at p95), which leaves {_f(3 - walk['median'], '×', 2)} the parse for everything else classify "
        "does: segmenting, counting, hashing the text and scoring.",
    ]


def _load_section(r: dict[str, Any]) -> list[str]:
    ld = r.get("load")
    if not ld:
        return []
    rows, memory = [], []
    for label, run in (("as shipped", ld), ("`OMP_NUM_THREADS=1`", r.get("load_1thread"))):
        if not run:
            continue
        lat, srv, rss = run["latency_ms"], run["server_ms"], run["rss_mb"]
        rows.append(
            [
                label,
                f"{run['requests']:,} (at most {run['limit_requests']:,} or {run['limit_seconds']:.0f} s)",
            ]
            + [_f(run["seconds"]), _f(run["rps"]), str(run["errors"])]
            + [_f(lat[k], " ms") for k in ("p50", "p95", "p99", "max")]
            + [f"{_f(srv['p50'], ' ms')} / {_f(srv['p99'], ' ms')}"]
        )
        samples = ", ".join(f"{n:,}: {_mb(v)}" for n, v in rss["samples"])
        memory.append(
            f"- {label}: {_mb(rss['start'])} at start, {_mb(rss['warm'])} after 20 warm-up requests, "
            f"{_mb(rss['end'])} at the end ({_f(_growth(rss['start'], rss['end']), '%')}); by requests "
            f"done: {samples}."
        )
    header = ["server", "requests", "seconds", "req/s", "errors", "p50", "p95", "p99", "max"]
    return [
        "",
        "## Under load (HTTP)",
        "",
        f"`hush serve --workers {ld['workers']}`, {ld['clients']} concurrent clients. Page: `{ld['page']}` "
        f"(the median-sized real page), {ld['page_bytes'] / 1024:.0f} KB stamped, "
        f"{ld['body_bytes'] / 1024:.0f} KB request body. First as shipped, then the same server with OpenMP "
        "held to one thread per worker; that faster run carries the 10,000 requests of the memory bar.",
        "",
        _table(header + ["server's own time p50 / p99"], rows),
        "",
        "Worker RSS (gunicorn's two workers):",
        "",
        *memory,
    ]


def _browser_section(r: dict[str, Any]) -> list[str]:
    br = r.get("browser")
    if not br:
        return []
    if "skipped" in br:
        return ["", "## The extension in Chromium", "", br["skipped"]]
    rows = [
        [
            label,
            f"{b['raw_chars'] / 1024:.0f} K",
            f"{b['payload_chars'] / b['raw_chars']:.0%}",
            _f(b["busy"], " ms"),
            _f(b.get("other", float("nan")), " ms"),
            _f(b["js"], " ms"),
            _f(b["slice"], " ms"),
            _f(b["task_delta"], " ms"),
            _f(b["load_to_sent"], " ms"),
            _f(b["round_trip"], " ms"),
            _f(b["answer_to_collapsed"], " ms"),
            _f(b["to_collapsed"], " ms"),
            _f(b["max_to_collapsed"], " ms"),
        ]
        for label, b in (("test article", br["article"]), ("1 MB front page", br["big"]))
    ]
    header = [
        "page",
        "outerHTML chars",
        "payload",
        "sliced work",
        "other own work",
        "all its JS (profiled)",
        "longest slice",
        "extra main-thread tasks",
        "load → sent",
        "round trip",
        "answer → collapsed",
        "load → collapsed",
        "worst",
    ]
    big, srv = br["big"], br.get("big_server", {})
    lines = [
        "",
        "## The extension in Chromium",
        "",
        f"Against the real `hush serve` on loopback; medians of {big['repeats']} loads of the 1 MB page and "
        f"{br['article']['repeats']} of the article (CPU profiles: "
        "separate loads). *Sliced work* is the content script's own account of its time-sliced DOM work, "
        "*other own work* its account of the rest of its synchronous work (sending the copy, joining it, "
        "collapsing, noting mutations); *all its JS* is every main-thread sample in the extension's scripts, "
        "DOM calls they make included, from Chrome's CPU profiler (whose sampling slows the script down); "
        "*extra main-thread tasks* is Chrome's "
        "task time for the tab minus that of the same page with Hush paused on the site (style and layout "
        "after collapsing included). Negative *load → sent*: the page was sent before `load` fired.",
        "",
        _table(header, rows),
        "",
        "Where the content script's time goes on the 1 MB page (one profiled load, ms):",
        "",
        _table(["function", "ms"], [[f"`{k}`", _f(v, "", 1)] for k, v in big.get("js_where", {}).items()]),
    ]
    peer = br.get("peer", {})
    if "skipped" in peer:
        lines += ["", peer["skipped"]]
    elif peer:
        pb, pa = peer["big"], peer["article"]
        lines += [
            "",
            f"The peer in the same browser: the {pb['selectors']} hiding selectors of the filter lists' "
            "appeal rules that are plain CSS, added to the loaded page as one stylesheet of hiding rules, "
            "every one as if it applied there (an upper bound: a blocker injects only the rules for the "
            "page's host), Hush paused. The style recalculation and layout this forces took "
            f"{_f(pb['rules'], ' ms')} on the 1 MB page ({_f(pb['empty'], ' ms')} for an empty stylesheet) "
            f"and {_f(pa['rules'], ' ms')} on the test article ({_f(pa['empty'], ' ms')}), medians of "
            f"{pb['repeats']} loads; the content script's own time on those pages is above. What the rules "
            "hide on the labelled pages, against the model, is in docs/EVALUATION.md.",
        ]
    kinds = big.get("other_by_kind")
    if kinds:
        lines += [
            "",
            "Its other own work on the 1 MB page, outside the slices (median of the loads, ms): "
            + ", ".join(f"{k} {v:.1f}" for k, v in kinds.items())
            + ". *send* is handing the copy to `runtime.sendMessage`, which serialises it.",
        ]
    shared = br.get("big_shared")
    if shared and "served" in shared and "refused" in shared:
        lines += [
            "",
            "Part of that time is the two cores being shared. While the 1 MB page loads, as the content "
            f"script works, it requests {shared['requests']} images, and the loopback page server (a Python "
            "process on the same machine) answers each that it has no such file. In "
            f"{shared['repeats']} loads alternated with as many in which the browser refuses those requests "
            f"(`{shared['refuse']}`), the content script's own time was {_f(shared['served'], ' ms')} with "
            f"them and {_f(shared['refused'], ' ms')} without. The script does the same work either way (the "
            "images fail both times): the difference is the machine's other work on those requests, "
            "competing for the two cores. The bar above is read with the images served.",
        ]
        if "driver" in shared:
            lines += [
                "",
                "The browser is kept off the network by its own resolver rules (no host resolves but "
                "loopback), not by Playwright intercepting every request as the test suite's browser "
                "does: each intercepted request is a round trip to the Python driver, on the same two "
                "cores, that a reader's browser never makes. In loads alternated with the two above, every "
                "request of the page going through the driver, the content script's own time was "
                f"{_f(shared['driver'], ' ms')}.",
            ]
    if srv:
        lines += [
            "",
            f"What the server does with the 1 MB page's payload ({srv['payload_chars'] / 1024:.0f} K chars), "
            "classified in the benchmark's process (median of 3, ms): "
            + ", ".join(f"{k} {srv[k]:.0f}" for k in ("classify", "parse", "segment", "features", "predict"))
            + ".",
        ]
    pl = br.get("payload", {})
    if "skipped" in pl:
        lines += ["", pl["skipped"]]
    elif pl:
        mp = pl["median_page"]
        lines += [
            "",
            f"Payload on {pl['pages']} real pages ({_own_address(pl)}): median {pl['ratio']['median']:.1%} "
            "of the raw outerHTML "
            f"(p95 {pl['ratio']['p95']:.1%}, max {pl['ratio']['max']:.1%}); against the file size, median "
            f"{pl['file_ratio']['median']:.1%}. The median-sized page (`{mp['page']}`, "
            f"{mp['raw_chars'] / 1024:.0f} K chars) sends {mp['ratio']:.1%}. Sliced main-thread work on "
            f"these pages: median {pl['busy']['median']:.1f} ms, p95 {pl['busy']['p95']:.1f} ms, max "
            f"{pl['busy']['max']:.1f} ms; longest slice {pl['slice']['max']:.1f} ms.",
        ]
        bands = [
            (0, 50_000, "under 50 K chars"),
            (50_000, 200_000, "50–200 K"),
            (200_000, 10**9, "over 200 K"),
        ]
        cells = []
        for lo, hi, label in bands:
            ratios = [row["ratio"] for row in pl["rows"] if lo <= row["raw_chars"] < hi]
            if ratios:
                cells.append(f"{label}: {statistics.median(ratios):.1%} ({len(ratios)} pages)")
        lines += ["", "Median payload share by page size (outerHTML): " + "; ".join(cells) + "."]
        parts = pl.get("parts_near_median")
        if parts:
            lines += [
                "",
                f"What the payload is made of, summed over the {pl['parts_pages']} pages nearest the median "
                "size (the serialiser's own output, split by `bench/payload_parts.py`): "
                + ", ".join(f"{name} {share:.1%}" for name, share in parts.items())
                + ".",
            ]
        if pl["left_out"]:
            lines += [
                "",
                "Left out: " + "; ".join(f"`{s['page']}` ({s['why']})" for s in pl["left_out"]) + ".",
            ]
    return lines


def _own_address(pl: dict[str, Any]) -> str:
    """How many of the payload part's pages were loaded at their own address (older results: none)."""
    own = sum(1 for row in pl["rows"] if row.get("at_own_address"))
    return f"{own} at the address they were captured from, {pl['pages'] - own} from loopback"


def _training_section(r: dict[str, Any]) -> list[str]:
    tr = r.get("training")
    if not tr:
        return []
    rows = [
        [
            "training on `corpus/pages`: wall (CPU, all threads)",
            f"{_f(tr['train_corpus_s'], ' s')} ({_f(tr.get('train_corpus_cpu_s'), ' s')})",
        ],
        [
            "training on `corpus/pages` + `../shared/realpages`: wall (CPU)",
            f"{_f(tr['train_all_s'], ' s')} ({_f(tr.get('train_all_cpu_s'), ' s')})"
            if tr.get("train_all_s")
            else tr.get("train_all_note", "–"),
        ],
        ["model file (`model/shipped/hush-model.skops`)", _f(tr["model_bytes"] / 1e6, " MB", 2)],
        ["model trained on the corpus alone", _f(tr["trained_bytes"] / 1e6, " MB", 2)],
        ["`load_model()` (fresh process)", _f(tr["load"]["load_s"], " s", 2)],
        ["`import model` before it", _f(tr["load"]["import_s"], " s", 2)],
    ]
    lines = ["", "## The model", "", _table(["what", "measured"], rows)]
    prof = r.get("train_profile")
    if prof:
        lines += [
            "",
            f"### Where training's time goes (cProfile of `hush train corpus/pages`, {prof['total_s']:.0f} s "
            "under the profiler)",
            "",
            _modules_table(prof),
            "",
            _profile_table(prof),
        ]
    return lines


def write(r: dict[str, Any]) -> Path:
    if r.get("inproc"):
        plot(r["inproc"])
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(render(r), encoding="utf-8")
    return DOC


if __name__ == "__main__":
    import json

    write(json.loads((Path(__file__).parent / "results.json").read_text()))
