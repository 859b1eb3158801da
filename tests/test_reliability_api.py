"""The real ``hush serve`` against its own OpenAPI description, then hand-written hostile requests.

Schemathesis generates valid and invalid requests for every operation from the served
``/openapi.json``: no answer is a 5xx, every status is documented, and every body (errors included)
matches its schema. By hand: gzip bombs, bodies that arrive slowly or never, 100,000 ids, duplicate
ids, and ids holding quotes or angle brackets.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import signal
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.health import openapi_document

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 500, GenerationMode.NEGATIVE: 500}
TIMEOUT = 2  # hush serve --timeout for the slow-request tests: a client has half of it to send a request


@pytest.fixture(scope="module")
def server(start_hush) -> Iterator[Any]:
    with start_hush("--workers", "2") as running:
        yield running


@pytest.fixture(scope="module")
def impatient_server(start_hush) -> Iterator[Any]:
    with start_hush("--timeout", str(TIMEOUT)) as running:
        yield running


def vm_peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for {pid}")


def error_schema() -> dict[str, Any]:
    doc = openapi_document()
    return {**doc["components"]["schemas"]["Error"], "$defs": doc["components"]["schemas"]}


def assert_error(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    jsonschema.validate(body, error_schema())
    assert body["error"]["code"] == code


# --- schemathesis ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=lambda m: m.value)
def test_every_answer_matches_the_openapi_description(server, reliability_counts, mode):
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
    session = requests.Session()

    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=schema.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        reliability_counts["api_cases"] += 1
        reliability_counts["api_requests"] += 1
        case.call_and_validate(base_url=server.url, session=session, checks=checks, timeout=30)

    run()


@settings(
    max_examples=200, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@given(
    body=st.one_of(st.binary(max_size=300), st.binary(max_size=300).map(gzip.compress)),
    encoding=st.sampled_from(["", "gzip", "x-gzip", "GZIP ", "br", "identity, gzip"]),
    content_type=st.sampled_from(["application/json", "application/json; charset=latin-1", "text/plain", ""]),
)
def test_any_raw_body_gets_a_documented_answer(client, reliability_counts, body, encoding, content_type):
    """Raw bytes (invalid UTF-8, broken gzip, odd headers) through the app: 200, or an error body
    that matches the schema; never a 5xx."""
    reliability_counts["api_cases"] += 1
    headers = {"Content-Encoding": encoding} if encoding else {}
    answer = client.post("/v1/classify", data=body, content_type=content_type or None, headers=headers)
    assert answer.status_code in (200, 400, 413, 415), answer.status_code
    if answer.status_code != 200:
        jsonschema.validate(answer.get_json(), error_schema())


# --- gzip bombs ------------------------------------------------------------------------------------


@cache
def bombs() -> dict[str, bytes]:
    """Bodies of about 250 kB inflating to 256 MiB: one gzip member, and 256 members of 1 MiB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    single = b"".join(packer.compress(zeros) for _ in range(256)) + packer.flush()
    return {"one member": single, "many members": gzip.compress(zeros) * 256}


@pytest.mark.parametrize("name", ["one member", "many members"])
def test_a_gzip_bomb_is_413_without_expanding_it(server, reliability_counts, name):
    bomb = bombs()[name]
    assert len(bomb) < 300_000
    peaks = {pid: vm_peak_kb(pid) for pid in server.workers()}
    answer = requests.post(
        server.url + "/v1/classify",
        data=bomb,
        timeout=30,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    reliability_counts["api_requests"] += 1
    assert_error(answer, 413, "payload_too_large")
    for pid, before in peaks.items():  # a worker that inflated 256 MiB would show it in its peak memory
        assert vm_peak_kb(pid) - before < 64 * 1024, f"worker {pid} grew while refusing a gzip bomb"


# --- slow bodies -----------------------------------------------------------------------------------


def slow_request(server: Any, head: bytes, trickle: bool) -> tuple[float, bytes]:
    """Send ``head``, then nothing (or a byte every 0.2 s); return when the server answers or closes."""
    started = time.monotonic()
    received = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=0.2) as sock:
        sock.sendall(head)
        while time.monotonic() - started < 5 * TIMEOUT:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                if trickle:
                    try:
                        sock.sendall(b"a")
                    except OSError:
                        break
                continue
            except OSError:
                break
            if not chunk:
                break
            received += chunk
    return time.monotonic() - started, received


HEAD = b"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
SLOW = {
    "stalled body": (HEAD + b'Content-Length: 1000\r\n\r\n{"html": "', False),
    "trickled body": (HEAD + b'Content-Length: 100000\r\n\r\n{"html": "', True),
    "stalled chunked body": (HEAD + b'Transfer-Encoding: chunked\r\n\r\n6\r\n{"html\r\n', False),
    "stalled headers": (b"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n", False),
}


@pytest.mark.parametrize("name", list(SLOW))
def test_slow_requests_are_timed_out_by_the_server(impatient_server, reliability_counts, name):
    server = impatient_server
    workers = server.workers()
    head, trickle = SLOW[name]
    spent, received = slow_request(server, head, trickle)
    reliability_counts["api_requests"] += 1
    assert spent < TIMEOUT, f"the server held a slow request {spent:.1f} s"
    if name != "stalled headers":  # before the app runs there is no one to answer: just closed
        status, _, rest = received.partition(b"\r\n")
        assert status.split()[1:2] == [b"408"], received[:200]
        body = json.loads(rest.partition(b"\r\n\r\n")[2])
        jsonschema.validate(body, error_schema())
        assert body["error"]["code"] == "request_timeout"
    assert server.workers() == workers, "a worker was killed instead of the request timing out"
    assert requests.get(server.url + "/healthz", timeout=10).status_code == 200


def test_idle_connections_do_not_hold_the_workers(server, reliability_counts):
    """A connection that sends nothing (a browser's preconnect, or one opened to hold a worker) kept a
    worker waiting for half the timeout, 30 s, before it took the next client."""
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]  # one per worker
    try:
        time.sleep(0.3)  # each worker has taken one
        started = time.monotonic()
        assert requests.get(server.url + "/healthz", timeout=60).status_code == 200
        waited = time.monotonic() - started
    finally:
        for sock in idle:
            sock.close()
    reliability_counts["api_requests"] += 1
    assert waited < 10, f"/healthz waited {waited:.1f} s behind idle connections"


# --- malformed HTTP and requests past the time limit ----------------------------------------------


def raw_request(server: Any, request: bytes, half_close: bool = False) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (then, with `half_close`, shut the sending side); the status, headers and
    body of the answer (read to the close)."""
    received = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


CHUNKED = b"Transfer-Encoding: chunked\r\n\r\n"
MALFORMED = {
    "bad request line": (b"GARBAGE\r\n\r\n", 400, "bad_request"),
    "negative length": (HEAD + b"Content-Length: -5\r\n\r\n", 400, "bad_request"),
    "bad chunk size": (HEAD + CHUNKED + b"zz\r\n{}\r\n0\r\n\r\n", 400, "invalid_chunked_body"),
    "request line over 4 KB": (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n", 414, "request_line_too_long"),
    "header over 8 KB": (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431, "headers_too_large"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_http_gets_a_json_error(server, reliability_counts, name):
    """gunicorn refuses these before the app sees them; its answer has the API's JSON error shape."""
    request, status, code = MALFORMED[name]
    got, headers, body = raw_request(server, request)
    reliability_counts["api_requests"] += 1
    assert (got, headers.get("content-type")) == (status, "application/json"), body[:200]
    answer = json.loads(body)
    jsonschema.validate(answer, error_schema())
    assert answer["error"]["code"] == code


def test_an_unknown_transfer_coding_is_501_not_implemented(server, reliability_counts):
    """gunicorn wrote its 501 with the reason "Bad Request"."""
    received = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(HEAD + b"Transfer-Encoding: bogus\r\n\r\n")
        while chunk := sock.recv(65536):
            received += chunk
    reliability_counts["api_requests"] += 1
    assert received.startswith(b"HTTP/1.1 501 Not Implemented\r\n"), received[:100]
    jsonschema.validate(json.loads(received.partition(b"\r\n\r\n")[2]), error_schema())


def test_a_compressed_transfer_coding_is_refused_not_read_as_json(server, reliability_counts):
    """gunicorn takes `Transfer-Encoding: gzip, chunked` and undoes only the chunks: the gzip bytes were
    then read as JSON and refused as "not valid JSON", which sends the client looking in the wrong place."""
    payload = gzip.compress(b'{"html": "<p data-hush-id=\\"1\\">Hello</p>"}')
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload)
    request = HEAD + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked
    status, headers, body = raw_request(server, request)
    reliability_counts["api_requests"] += 1
    assert (status, headers.get("content-type")) == (501, "application/json"), body[:200]
    answer = json.loads(body)
    jsonschema.validate(answer, error_schema())
    assert answer["error"]["code"] == "unsupported_transfer_coding"


def test_a_body_cut_short_is_not_classified(server, reliability_counts):
    """A client that announces 500 bytes, sends 38 and stops sending gets a 400, not the classification
    of a part of its page."""
    body = b'{"html":"<p data-hush-id=\\"1\\">x</p>"}'
    request = HEAD + b"Content-Length: 500\r\n\r\n" + body
    status, _, answer = raw_request(server, request, half_close=True)
    reliability_counts["api_requests"] += 1
    assert status == 400, answer
    assert json.loads(answer)["error"]["code"] == "incomplete_body"


def test_a_request_past_the_time_limit_gets_a_json_error(impatient_server, reliability_counts):
    """A page that takes longer than --timeout to classify (99,000 paragraphs, some 6 s): gunicorn ends
    the worker, and the client is told why in JSON; a new worker takes its place."""
    server = impatient_server
    html = "<p>a</p>" * 99_000
    response = requests.post(server.url + "/v1/classify", json={"html": html}, timeout=60)
    reliability_counts["api_requests"] += 1
    assert_error(response, 500, "internal_error")
    assert "--timeout" in response.json()["error"]["message"]
    assert requests.get(server.url + "/healthz", timeout=30).status_code == 200


def test_a_request_cut_short_by_ctrl_c_is_told_so(start_hush, reliability_counts):
    """Ctrl-C stops the server at once: the request in hand gets a JSON error saying so (not that it ran
    out of time), and the log one line, no traceback."""
    with start_hush("--workers", "1") as server:
        answer: dict[str, Any] = {}

        def post() -> None:
            answer["response"] = requests.post(
                server.url + "/v1/classify", json={"html": "<p>a</p>" * 99_000}, timeout=60
            )

        poster = threading.Thread(target=post)
        poster.start()
        time.sleep(1.5)  # classifying this page takes some 6 s
        os.killpg(server.process.pid, signal.SIGINT)
        poster.join(timeout=60)
        server.process.wait(timeout=30)
        reliability_counts["api_requests"] += 1
        assert_error(answer["response"], 500, "internal_error")
        assert (
            answer["response"].json()["error"]["message"] == "the server stopped while answering this request"
        )
        log = server.output()
        assert "Traceback" not in log and "request ended: the server stopped" in log


# --- ids -------------------------------------------------------------------------------------------


def classify(server: Any, html: str) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request(
            "POST", "/v1/classify", json.dumps({"html": html}), {"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("Content-Type") == "application/json"
        return json.loads(response.read())
    finally:
        connection.close()


def named(answer: dict[str, Any]) -> list[str]:
    return [*answer["hide"], *(block["id"] for block in answer["blocks"])]


APPEAL = (
    "<h3>Support our journalism</h3><p>We are reader-funded. Please donate monthly: $5, $10 or $25 "
    "keeps our newsroom going. Become a member today.</p>"
)


def test_a_request_with_100000_ids(server, reliability_counts):
    items = "".join(f'<li data-hush-id="{i:x}">Item {i} of the list</li>' for i in range(99_990))
    html = f'<article data-hush-id="art"><ul data-hush-id="ul">{items}</ul></article>'
    html += f'<aside data-hush-id="box">{APPEAL}<a data-hush-id="go" href="/donate">Donate now</a></aside>'
    ids = set(re.findall(r'data-hush-id="([^"]+)"', html))
    assert len(ids) >= 99_990
    answer = classify(server, html)
    reliability_counts["api_requests"] += 1
    assert set(named(answer)) <= ids
    assert len(answer["hide"]) == len(set(answer["hide"]))


def test_duplicate_ids(server, reliability_counts):
    html = (
        '<p data-hush-id="same">The council met on Monday to discuss the harbour.</p>'
        f'<div data-hush-id="same">{APPEAL}<a data-hush-id="same" href="/donate">Donate</a></div>'
        f'<div data-hush-id="twin">{APPEAL}</div><div data-hush-id="twin">{APPEAL}</div>'
    )
    answer = classify(server, html)
    reliability_counts["api_requests"] += 1
    assert set(named(answer)) <= {"same", "twin"}
    assert len(answer["hide"]) == len(set(answer["hide"]))
    assert "same" not in answer["hide"]  # it marks the council paragraph too


HOSTILE_IDS = ['a"b', "a'b", "<script>alert(1)</script>", "</div><div>", "&amp;", "x>y<z", '"><img src=x>']


def test_ids_with_quotes_and_angle_brackets(server, reliability_counts):
    parts = []
    for ident in HOSTILE_IDS:
        escaped = ident.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
        parts.append(f'<div data-hush-id="{escaped}">{APPEAL}</div>')
    parts.append(f'<div data-hush-id=\'a"raw\'>{APPEAL}</div><p data-hush-id="p">Council news.</p>')
    answer = classify(server, "".join(parts))
    reliability_counts["api_requests"] += 1
    assert set(named(answer)) <= {*HOSTILE_IDS, 'a"raw', "p"}
    assert named(answer), "the appeals should be named, quotes and brackets kept as they were sent"
