"""In headless Chromium with the unpacked extension: payload size on real pages, the content script's
main-thread time on a 1 MB page, and the time from `load` to the appeals being collapsed."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import payload_parts
from bench.common import APPEAL_RULES, captured_url, real_files, summary, tests_module

# Runs in the page's own world before its scripts: the raw outerHTML size at DOMContentLoaded (before the
# content script, which runs at document_idle, stamps anything) and the moment the first block collapses.
INIT = """(() => {
  const h = window.__hushBench = {collapsedAt: 0, rawChars: 0};
  new MutationObserver((records) => {
    if (!h.collapsedAt && records.some((r) => r.target.hasAttribute('data-hush-hidden'))) {
      h.collapsedAt = performance.now();
    }
  }).observe(document, {attributes: true, attributeFilter: ['data-hush-hidden'], subtree: true});
  document.addEventListener('DOMContentLoaded', () => {
    h.rawChars = document.documentElement.outerHTML.length;
  });
})();"""

PAGE_TIMES = """() => ({
  load: performance.getEntriesByType('navigation')[0].loadEventStart,
  collapsed: window.__hushBench.collapsedAt,
  raw: window.__hushBench.rawChars,
})"""


PARTS_PAGES = 30  # what the payload is made of: summed over this many pages nearest the median size


def _metrics(cdp: Any) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def _visit(
    browser: Any,
    url: str,
    collapse: bool,
    profile: bool = False,
    body: bytes | None = None,
    refuse: str | None = None,
    through_driver: bool = False,
) -> dict[str, Any] | None:
    """Open url in a fresh tab; the content script's stats, page times, CDP main-thread metrics and, with
    `profile`, a CPU profile of the tab's main thread. With `body`, the tab is given it as the document at
    url (any address: nothing goes to the network), and every other request of the page stays refused.
    With `refuse` (a URL glob), the browser refuses the page's requests that match it, and `refused`
    counts them. With `through_driver`, every request of the page goes through Playwright (which lets it
    go on), as in the test suite's browser."""
    page = browser.context.new_page()
    refused = [0]
    try:
        if through_driver:
            page.route("**/*", lambda route: route.continue_())
        if refuse is not None:

            def abort(route: Any) -> None:
                refused[0] += 1
                route.abort()

            page.route(refuse, abort)
        if body is not None:
            url = page.evaluate("(u) => { const a = new URL(u); a.hash = ''; return a.href; }", url)
            html = {"status": 200, "body": body, "content_type": "text/html; charset=utf-8"}
            page.route(lambda address: address == url, lambda route: route.fulfill(**html))
        cdp = browser.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        if profile:
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 100})
            cdp.send("Profiler.start")
        page.goto(url, wait_until="load", timeout=20000)
        stats = browser.wait_settled(page, timeout=20, url=url)
        if stats is None:
            return None
        if collapse:
            page.wait_for_function("window.__hushBench.collapsedAt > 0", timeout=10000)
        page.wait_for_timeout(300)  # let the collapse, the count and the observer's work finish
        seen = {
            "stats": stats,
            "times": page.evaluate(PAGE_TIMES),
            "metrics": _metrics(cdp),
            "refused": refused[0],
        }
        if profile:
            seen["profile"] = cdp.send("Profiler.stop")["profile"]
        return seen
    finally:
        page.close()


def _own_ms(perf: dict[str, Any]) -> float:
    """The content script's own main-thread time on a load, as the bar reads it: its sliced DOM work and
    its other synchronous work."""
    return perf["busyMs"] + perf.get("otherMs", 0.0)


def extension_js(profile: dict[str, Any]) -> tuple[float, dict[str, float]]:
    """Main-thread time (ms) in the extension's scripts, DOM calls they make included, and its split by
    the extension function the time was spent in (self time, or the nearest extension caller's)."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", [])}
    owner: dict[int, str | None] = {}

    def find(node_id: int) -> str | None:
        if node_id not in owner:
            frame = nodes[node_id]["callFrame"]
            if frame["url"].startswith("chrome-extension://"):
                name = frame["functionName"] or "(top level)"
                owner[node_id] = f"{frame['url'].rsplit('/', 1)[-1]}:{frame['lineNumber'] + 1} {name}"
            else:
                owner[node_id] = find(parent[node_id]) if node_id in parent else None
        return owner[node_id]

    split: dict[str, float] = {}
    for node_id, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        if (name := find(node_id)) is not None:
            split[name] = split.get(name, 0.0) + delta / 1000
    return sum(split.values()), dict(sorted(split.items(), key=lambda kv: -kv[1])[:8])


def extension_cost(browser: Any, endpoint: str, site: int, path: str, repeats: int) -> dict[str, Any]:
    """Main-thread time and load-to-collapsed on one page, Hush running against the real endpoint, and
    Chrome's main-thread task time (CDP) minus that of the same page with Hush paused on the site."""
    url = f"http://127.0.0.1:{site}{path}"
    keys = (
        "busy",
        "other",
        "own",
        "slice",
        "to_collapsed",
        "load_to_sent",
        "round_trip",
        "answer_to_collapsed",
        "task",
    )
    runs: dict[str, list[float]] = {k: [] for k in keys}
    base: list[float] = []
    other_by_kind: dict[str, list[float]] = {}
    for _ in range(repeats):
        browser.set_settings(endpoint=endpoint, token="", mode="placeholder", disabledSites=["127.0.0.1"])
        paused = _visit(browser, url, collapse=False)
        browser.set_settings(disabledSites=[])
        on = _visit(browser, url, collapse=True)
        if not on or not paused:
            continue
        perf, times, metrics = on["stats"]["perf"], on["times"], on["metrics"]
        runs["busy"].append(perf["busyMs"])
        runs["other"].append(perf.get("otherMs", 0.0))
        runs["own"].append(_own_ms(perf))
        for kind, ms in perf.get("otherByKind", {}).items():
            other_by_kind.setdefault(kind, []).append(ms)
        runs["slice"].append(perf["maxSliceMs"])
        runs["to_collapsed"].append(times["collapsed"] - times["load"])
        runs["load_to_sent"].append(perf["pageSentAt"] - times["load"])
        runs["round_trip"].append(perf["answeredAt"] - perf["pageSentAt"])
        runs["answer_to_collapsed"].append(times["collapsed"] - perf["answeredAt"])
        runs["task"].append(metrics["TaskDuration"] * 1000)
        base.append(paused["metrics"]["TaskDuration"] * 1000)
        raw = times["raw"]
        payload = perf["payloadChars"]
    js, split = [], []
    for _ in range(max(1, repeats // 2)):  # profiled loads apart: the profiler slows the page down
        seen = _visit(browser, url, collapse=True, profile=True)
        if seen:
            total, where = extension_js(seen["profile"])
            js.append(total)
            split.append(where)
    med = {k: statistics.median(v) for k, v in runs.items() if v}
    med["js"] = statistics.median(js) if js else float("nan")
    return {
        "path": path,
        "repeats": len(runs["busy"]),
        "raw_chars": raw,
        "payload_chars": payload,
        "elements": on["stats"]["perf"]["elements"] if on else 0,
        **med,
        "max_to_collapsed": max(runs["to_collapsed"]),
        "own_loads": runs["own"],
        "task_delta": med["task"] - statistics.median(base),
        "js_where": split[len(split) // 2] if split else {},
        "other_by_kind": {k: statistics.median(v) for k, v in sorted(other_by_kind.items())},
    }


def shared_cores(browser: Any, site: int, path: str, repeats: int, refuse: str) -> dict[str, Any]:
    """The content script's own time on one page, in loads alternated three ways: as the bar is read; with
    the page's requests that match `refuse` refused by the browser; and with every request of the page
    going through Playwright, as in the test suite. The script's work is the same each way (the images
    fail every time: refused, or answered with a 404); what differs is the other work on the same two
    cores: the loopback page server answering those requests, the browser fetching them, the driver
    passing each on."""
    url = f"http://127.0.0.1:{site}{path}"
    runs: dict[str, list[float]] = {"served": [], "refused": [], "driver": []}
    requests = 0
    for _ in range(repeats):
        for key in runs:
            glob = refuse if key == "refused" else None
            seen = _visit(browser, url, collapse=True, refuse=glob, through_driver=key == "driver")
            if seen:
                runs[key].append(_own_ms(seen["stats"]["perf"]))
                requests = max(requests, seen["refused"])
    return {
        "refuse": refuse,
        "requests": requests,
        "repeats": min(len(v) for v in runs.values()),
        **{k: statistics.median(v) for k, v in runs.items() if v},
    }


# A content blocker's cosmetic filtering, measured on the loaded page: the style work of adding the rules'
# selectors as one stylesheet of hiding rules, against adding an empty stylesheet (each forces a full style
# recalculation and a layout).
RESTYLE = """(css) => {
  const style = document.createElement('style');
  const t0 = performance.now();
  style.textContent = css;
  document.head.appendChild(style);
  document.body.getBoundingClientRect();
  getComputedStyle(document.body).display;
  const took = performance.now() - t0;
  style.remove();
  return took;
}"""


def peer_cost(browser: Any, site: int, path: str, repeats: int, selectors: list[str]) -> dict[str, Any]:
    """The main-thread time of applying the filter list's selectors to the loaded page as a stylesheet of
    hiding rules (style recalculation and layout), against applying an empty stylesheet; Hush paused."""
    css = "\n".join(f"{s} {{ display: none !important; }}" for s in selectors)
    url = f"http://127.0.0.1:{site}{path}"
    browser.set_settings(disabledSites=["127.0.0.1"])
    runs: dict[str, list[float]] = {"rules": [], "empty": []}
    page = browser.context.new_page()
    try:
        for _ in range(repeats):
            page.goto(url, wait_until="load", timeout=20000)
            page.wait_for_timeout(200)
            runs["empty"].append(page.evaluate(RESTYLE, ""))
            runs["rules"].append(page.evaluate(RESTYLE, css))
    finally:
        page.close()
        browser.set_settings(disabledSites=[])
    return {
        "path": path,
        "selectors": len(selectors),
        "repeats": repeats,
        **{k: statistics.median(v) for k, v in runs.items()},
    }


def server_time(browser: Any, fake: Any, fake_port: int, site: int, path: str) -> dict[str, Any]:
    """What the server does with the page's payload: classify it in this process, by stage (median of 3)."""
    from model import load_model

    browser.set_settings(endpoint=f"http://127.0.0.1:{fake_port}", disabledSites=[])
    fake.requests.clear()
    _visit(browser, f"http://127.0.0.1:{site}{path}", collapse=False)
    html = fake.requests[0]["html"]
    model = load_model()
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        result = model.classify(html)
        runs.append({"classify": (time.perf_counter() - t0) * 1000, **result.timings})
    return {"payload_chars": len(html), **{k: statistics.median(r[k] for r in runs) for k in runs[0]}}


def payload(
    browser: Any, fake: Any, fake_port: int, site: int, files: dict[str, Path], log: Callable[[str], None]
) -> dict:
    """The serialiser's payload against the raw outerHTML (and the file) on each real page, and what the
    payloads are made of (bench.payload_parts)."""
    browser.set_settings(
        endpoint=f"http://127.0.0.1:{fake_port}", token="", mode="placeholder", disabledSites=[]
    )
    rows, left_out = [], []
    for i, (path, file) in enumerate(files.items(), 1):
        # At the address it was captured from, where there is one: there, links to its own site are sent
        # as their paths, as on the live site. From loopback, every such link would name another site.
        address = captured_url(file)
        url = address or f"http://127.0.0.1:{site}{path}"
        fake.requests.clear()
        try:
            seen = _visit(browser, url, collapse=False, body=file.read_bytes() if address else None)
        except Exception as err:  # a page that hangs or navigates itself away is left out, and named
            seen, why = None, f"{type(err).__name__}: {str(err).splitlines()[0][:80]}"
        else:
            why = "navigated away or not settled"
        if not seen or seen["stats"]["state"] != "running" or not seen["times"]["raw"]:
            left_out.append({"page": file.name, "why": seen["stats"]["state"] if seen else why})
            continue
        perf = seen["stats"]["perf"]
        raw = seen["times"]["raw"]
        sent = [r["html"] for r in fake.requests if not r.get("fragment") and isinstance(r.get("html"), str)]
        rows.append(
            {
                "page": file.name,
                "at_own_address": bool(address),
                "file_bytes": file.stat().st_size,
                "raw_chars": raw,
                "payload_chars": perf["payloadChars"],
                "ratio": perf["payloadChars"] / raw,
                "busy": perf["busyMs"],
                "slice": perf["maxSliceMs"],
                "parts": payload_parts.parts(sent[0]) if sent else None,
            }
        )
        if i % 25 == 0:
            log(f"  payload: {i}/{len(files)} real pages")
    rows.sort(key=lambda r: r["raw_chars"])
    mid = len(rows) // 2
    median_page = rows[mid] if rows else None
    near_median = rows[max(0, mid - PARTS_PAGES // 2) : mid + PARTS_PAGES // 2]
    return {
        "pages": len(rows),
        "left_out": left_out,
        "ratio": summary([r["ratio"] for r in rows]),
        "file_ratio": summary([r["payload_chars"] / r["file_bytes"] for r in rows]),
        "median_page": median_page,  # the page of median raw size
        "busy": summary([r["busy"] for r in rows]),
        "slice": summary([r["slice"] for r in rows]),
        "parts_near_median": payload_parts.shares(r["parts"] for r in near_median if r["parts"]),
        "parts_pages": sum(1 for r in near_median if r["parts"]),
        "rows": rows,
    }


def run(quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    bs = tests_module("browser_support")
    reason = bs.chromium_available()
    if reason:
        return {"skipped": reason}
    pages_module = tests_module("extension_pages")
    from playwright.sync_api import sync_playwright

    files = {f"/real/{p.name}": p for p in real_files()[:: 4 if quick else 1]}
    pages = {"/article.html": pages_module.article_page(), "/big.html": pages_module.BIG_PAGE}
    fake = bs.FakeEndpoint()
    fake.answer = lambda request: (200, "application/json", b'{"hide": []}')
    repeats = 3 if quick else 7
    out: dict[str, Any] = {}
    with (
        sync_playwright() as pw,
        bs.hush_serve() as endpoint,
        bs.serve_in_thread(fake.handler()) as fake_port,
        bs.page_server(pages, files) as site,
        tempfile.TemporaryDirectory() as profile,
    ):
        # Kept offline by Chromium's own resolver rules (tests/browser_support.py), not by the driver seeing
        # every request: a reader's browser has no driver, and its work would be counted in the timings.
        browser = bs.ExtensionBrowser(pw, Path(profile), intercept=False)
        try:
            browser.context.add_init_script(INIT)
            browser.set_settings(endpoint=endpoint, token="", mode="placeholder", disabledSites=[])
            _visit(browser, f"http://127.0.0.1:{site}/article.html", collapse=True)  # warm-up
            log("  browser: 1 MB page")
            # The bar is read on this page: twice the loads, for a median that moves less between runs
            # (over three runs of 7 loads it read 46.1, 54.6 and 44.6 ms).
            out["big"] = extension_cost(browser, endpoint, site, "/big.html", 2 * repeats + 1)
            log("  browser: 1 MB page, its images refused")
            out["big_shared"] = shared_cores(browser, site, "/big.html", 2 * repeats + 1, "**/img/**")
            log("  browser: article page")
            out["article"] = extension_cost(browser, endpoint, site, "/article.html", repeats)
            out["big_server"] = server_time(browser, fake, fake_port, site, "/big.html")
            from model import filterlist

            if APPEAL_RULES.is_file() and filterlist.NOSTRICT is not None:
                log("  browser: the filter lists' rules as a stylesheet")
                selectors = filterlist.read(APPEAL_RULES).plain_css()
                out["peer"] = {
                    key: peer_cost(browser, site, path, repeats, selectors)
                    for key, path in (("big", "/big.html"), ("article", "/article.html"))
                }
            elif filterlist.NOSTRICT is None:
                out["peer"] = {"skipped": f"{filterlist.NEEDS}: the filter lists' cost skipped"}
            else:
                out["peer"] = {"skipped": "../shared/baselines not found: the filter lists' cost skipped"}
            if files:
                out["payload"] = payload(browser, fake, fake_port, site, files, log)
            else:
                out["payload"] = {"skipped": "../shared/realpages not found: payload on real pages skipped"}
        finally:
            browser.close()
    return out
