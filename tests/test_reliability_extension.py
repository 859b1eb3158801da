"""The service worker (extension/background.js) under Node with a fake ``chrome`` and ``fetch``: it
ignores messages from anyone but Hush's own content scripts and pages, and refuses hostile answers
from the endpoint before any id reaches a page. The browser tests (test_extension_browser.py) show
the same answers change nothing in a real page; these run in a second, without a browser."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parents[1] / "extension"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

HARNESS = """
const calls = [];
const listeners = {};
const on = (name) => ({ addListener: (fn) => { listeners[name] = fn; } });
const record = (name) => async (...args) => { calls.push(name); return {}; };
globalThis.chrome = {
  runtime: { id: "hushid", getURL: (p) => "chrome-extension://hushid/" + p,
             onMessage: on("message"), onInstalled: on("installed"), onStartup: on("startup") },
  storage: { local: { get: async () => ({ settings: { endpoint: "http://127.0.0.1:9" } }),
                      set: record("set") },
             onChanged: on("changed") },
  action: { setBadgeText: record("badge"), setBadgeBackgroundColor: record("badge"),
            setTitle: record("badge") },
  contextMenus: { create: () => {}, removeAll: async () => {}, onClicked: on("menu") },
  scripting: { insertCSS: record("insertCSS") },
  tabs: { sendMessage: record("tabs.sendMessage") },
};
let answer = null;
globalThis.fetch = async (url) => {
  calls.push("fetch " + new URL(url).pathname);
  return new Response(answer.body, { status: answer.status, headers: { "content-type": answer.type } });
};
for (const name of WITHOUT) delete globalThis.chrome[name];
require(COMMON);
require(BACKGROUND);

function send(message, sender) {
  return new Promise((resolve) => {
    const async = listeners.message(message, sender, resolve);
    if (async !== true) resolve("ignored");
  });
}

(async () => {
  const out = [];
  for (const c of CASES) {
    answer = c.answer;
    calls.length = 0;
    const reply = await send(c.message, c.sender);
    out.push({ reply, calls: calls.slice() });
  }
  process.stdout.write(JSON.stringify(out));
})();
"""

CONTENT = {"id": "hushid", "tab": {"id": 3}, "frameId": 0, "url": "https://news.example/a"}
CLASSIFY = {"type": "classify", "html": "<p data-hush-id='1'>Donate</p>", "url": "https://news.example/a"}


def run_worker(cases: list[dict], without: tuple[str, ...] = ()) -> list[dict]:
    """The replies and calls of the service worker to each case; ``without``: chrome APIs it lacks."""
    script = (
        HARNESS.replace("COMMON", json.dumps(str(EXT / "lib" / "common.js")))
        .replace("BACKGROUND", json.dumps(str(EXT / "background.js")))
        .replace("CASES", json.dumps(cases))
        .replace("WITHOUT", json.dumps(list(without)))
    )
    done = subprocess.run([NODE], input=script, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def answer(body: object, status: int = 200, type_: str = "application/json") -> dict:
    return {"body": body if isinstance(body, str) else json.dumps(body), "status": status, "type": type_}


FOREIGN_SENDERS = {
    "a web page": {"url": "https://evil.example/", "tab": {"id": 3}},
    "another extension": {"id": "otherext", "url": "https://news.example/a", "tab": {"id": 3}},
    "own id, no tab": {"id": "hushid", "url": "https://news.example/a"},
    "own id, tab on a file": {"id": "hushid", "url": "file:///etc/passwd", "tab": {"id": 3}},
    "own id, page of another extension": {"id": "hushid", "url": "chrome-extension://otherext/x.html"},
}


def test_messages_from_anyone_else_are_ignored(reliability_counts):
    good = answer({"hide": ["1"]})
    cases = [{"message": CLASSIFY, "sender": sender, "answer": good} for sender in FOREIGN_SENDERS.values()]
    cases.append({"message": CLASSIFY, "sender": CONTENT, "answer": good})
    *foreign, own = run_worker(cases)
    reliability_counts["extension_cases"] += len(cases)
    for name, result in zip(FOREIGN_SENDERS, foreign, strict=True):
        assert result == {"reply": "ignored", "calls": []}, name
    assert own["reply"] == {"ok": True, "hide": ["1"]} and own["calls"] == ["fetch /v1/classify"]


HOSTILE = {
    "script in an id": {"hide": ["<img src=x onerror=alert(1)>", "1"]},
    "quote in an id": {"hide": ['1" onclick="x']},
    "id with a selector": {"hide": ["1], body, [x"]},
    "ids that are not strings": {"hide": [{"toString": 1}, 7, None]},
    "hide is not a list": {"hide": "1"},
    "no hide": {"blocks": []},
    "answer is a list": [["1"]],
    "too many ids": {"hide": [format(i, "x") for i in range(6000)]},
    "too long an id": {"hide": ["a" * 11]},
}


def test_hostile_answers_are_refused_before_any_page_sees_them(reliability_counts):
    cases = [{"message": CLASSIFY, "sender": CONTENT, "answer": answer(body)} for body in HOSTILE.values()]
    cases += [
        {"message": CLASSIFY, "sender": CONTENT, "answer": answer('{"hide": ["1"]}', type_="text/html")},
        {"message": CLASSIFY, "sender": CONTENT, "answer": answer("not json at all")},
        {"message": CLASSIFY, "sender": CONTENT, "answer": answer('{"__proto__": {"hide": ["1"]}}')},
        {"message": CLASSIFY, "sender": CONTENT, "answer": answer({"error": {"code": "x"}}, status=500)},
        {"message": CLASSIFY, "sender": CONTENT, "answer": answer({"hide": ["1"], "pad": "x" * 1_100_000})},
    ]
    results = run_worker(cases)
    reliability_counts["extension_cases"] += len(cases)
    for result in results:
        reply = result["reply"]
        assert reply["ok"] is False and "hide" not in reply, reply
        # Only the request itself: no script injected, no message to a tab, nothing stored.
        assert set(result["calls"]) <= {"fetch /v1/classify", "badge"}, result["calls"]


def test_without_context_menus_the_worker_still_classifies():
    """Firefox for Android has no context menus: the worker loads without them and answers as before."""
    (result,) = run_worker(
        [{"message": CLASSIFY, "sender": CONTENT, "answer": answer({"hide": ["1"]})}],
        without=("contextMenus",),
    )
    assert result["reply"] == {"ok": True, "hide": ["1"]}
