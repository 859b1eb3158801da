"""The HTTP API through Flask's test client, with the shipped model: answers, every error status,
gzip, the token, CORS, fragments, logging, and that ``hide`` never holds content text."""

from __future__ import annotations

import gzip
import io
import json
import logging
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from model import ModelError
from server import create_app
from server.config import ConfigError
from server.health import openapi_document

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seed"
JSON = "application/json"

PAGE = """<!DOCTYPE html><html lang="en"><head><title>River cleanup drew 300 volunteers</title></head>
<body><header><nav><a href="/">Home</a> <a href="/local">Local</a></nav></header>
<article><h1>River cleanup drew 300 volunteers</h1>
<p>Volunteers removed two tonnes of litter from the riverbank on Saturday, the city said.</p>
<p>The council supports a second cleanup in the spring and will supply gloves and bags.</p>
<div class="donate-box" data-hush-label="appeal"><h3>Support independent local journalism</h3>
<p>Our reporting is free for everyone. If you value it, please donate today: even $5 a month
helps keep our newsroom going. Become a member now.</p><a href="/donate">Donate now</a></div>
<p>Cleanup organisers thanked the rowing club for lending its boats.</p>
</article><footer><p>Riverside Gazette</p></footer></body></html>"""

FRAGMENT = """<div class="support-banner" data-hush-label="appeal"><p>We rely on readers like you.
Please support our journalism with a donation today. Every contribution, big or small, keeps
our reporting free. Donate now and become a supporter.</p><a href="/support">Support us</a></div>"""


# --- helpers -------------------------------------------------------------------------------


def stamp(html: str, fragment: bool = False) -> tuple[str, list[Any]]:
    """Stamp every element (of the body, for a document) with data-hush-id="h<n>" in document
    order; return the html to send (labels removed) and the labelled tree, indexed by n."""
    if fragment:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
        elements = list(root.iterdescendants())
    else:
        root = lxml.html.document_fromstring(html)
        elements = list(root.body.iter())
    elements = [el for el in elements if isinstance(el.tag, str)]
    for n, el in enumerate(elements):
        el.set("data-hush-id", f"h{n}")
    sent = lxml.html.fromstring(lxml.html.tostring(root, encoding="unicode"))
    for el in sent.iter():
        if isinstance(el.tag, str):
            el.attrib.pop("data-hush-label", None)
    if fragment:
        text = "".join(lxml.html.tostring(child, encoding="unicode") for child in sent)
    else:
        text = lxml.html.tostring(sent, encoding="unicode", doctype="<!DOCTYPE html>")
    return text, elements


def unlabelled_text(element: Any) -> str:
    """The text inside ``element`` that no data-hush-label="appeal" element holds."""

    def labelled(el: Any) -> bool:
        return any(a.get("data-hush-label") == "appeal" for a in [el, *el.iterancestors()])

    pieces = []
    for node in element.iter():
        if not isinstance(node.tag, str):
            continue
        if node.text and not labelled(node):
            pieces.append(node.text)
        for child in node:
            if child.tail and not labelled(node):
                pieces.append(child.tail)
    return " ".join(" ".join(pieces).split())


def classify(client: FlaskClient, payload: Any, **headers: str) -> Any:
    return client.post("/v1/classify", json=payload, headers=headers)


def check_answer(answer: dict[str, Any], elements: list[Any]) -> None:
    """The invariants of every 200 answer: shape, ids sent, document order, outermost only."""
    assert set(answer) == {"hide", "blocks", "model", "elapsed_ms"}
    sent = {f"h{n}" for n in range(len(elements))}
    assert set(answer["hide"]) <= sent
    assert {block["id"] for block in answer["blocks"]} <= sent
    assert all(0.0 <= block["score"] <= 1.0 for block in answer["blocks"])
    positions = [int(i[1:]) for i in answer["hide"]]
    assert positions == sorted(set(positions)), "hide must be in document order, without repeats"
    hidden = [elements[p] for p in positions]
    for el in hidden:
        assert not any(a in hidden for a in el.iterancestors()), "hide must list outermost elements"
    assert answer["elapsed_ms"] >= 0


@pytest.fixture
def make_client(hush_model: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., FlaskClient]:
    """A test client for an app with the given settings (TOKEN, MAX_BYTES, CORS_ORIGIN, ...)."""
    monkeypatch.delenv("HUSH_TOKEN", raising=False)

    def build(**config: Any) -> FlaskClient:
        return create_app({"MODEL": hush_model, "TESTING": True, **config}).test_client()

    return build


@pytest.fixture
def access_lines() -> Iterator[list[str]]:
    """The lines the app writes to its access log during a test."""
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("hush.access")
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


# --- answers -------------------------------------------------------------------------------


def test_healthz(client: FlaskClient, hush_model: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "model": hush_model.version}


def test_model_metadata(client: FlaskClient, hush_model: Any) -> None:
    info = client.get("/v1/model").get_json()
    assert info["version"] == hush_model.version
    for key in ("threshold", "trained_at", "corpus_digest", "metrics", "path"):
        assert key in info
    json.dumps(info)


def test_model_path_is_shown(make_client: Callable[..., FlaskClient], tmp_path: Path) -> None:
    info = make_client(MODEL_PATH=str(tmp_path / "m.skops")).get("/v1/model").get_json()
    assert info["path"] == str(tmp_path / "m.skops")


def labelled_ids(elements: list[Any]) -> list[str]:
    return [f"h{n}" for n, el in enumerate(elements) if el.get("data-hush-label") == "appeal"]


def test_classify_page(client: FlaskClient, hush_model: Any) -> None:
    html, elements = stamp(PAGE)
    response = classify(client, {"url": "https://gazette.example/river", "html": html})
    assert response.status_code == 200
    answer = response.get_json()
    check_answer(answer, elements)
    assert answer["model"] == hush_model.version
    assert answer["hide"] == labelled_ids(elements), "the donation box, and only it"
    assert set(labelled_ids(elements)) <= {block["id"] for block in answer["blocks"]}


def test_classify_fragment(client: FlaskClient) -> None:
    """A subtree the page inserted later is classified like the same subtree in a page."""
    html, elements = stamp(FRAGMENT, fragment=True)
    response = classify(client, {"html": html, "context": {"title": "River cleanup", "lang": "en"}})
    assert response.status_code == 200
    answer = response.get_json()
    check_answer(answer, elements)
    assert answer["hide"] == labelled_ids(elements)
    page_html, page_elements = stamp(PAGE.replace("</article>", FRAGMENT + "</article>"))
    in_page = classify(client, {"html": page_html}).get_json()
    assert [page_elements[int(i[1:])].get("class") for i in in_page["hide"]] == [
        "donate-box",
        "support-banner",
    ]


def test_unstamped_html_hides_nothing(client: FlaskClient) -> None:
    response = classify(client, {"html": "<p>Please donate to keep us going.</p>"})
    assert response.status_code == 200
    assert response.get_json()["hide"] == []


def test_null_optional_fields_and_unknown_keys_are_accepted(client: FlaskClient) -> None:
    payload = {"html": "<p data-hush-id='a'>x</p>", "url": None, "context": None, "extra": 1}
    assert classify(client, payload).status_code == 200


@pytest.mark.parametrize("name", ["seed-boxed.html", "seed-flat.html"])
def test_hide_never_holds_content_text_on_seed_pages(client: FlaskClient, name: str) -> None:
    if not SEED.is_dir():
        pytest.skip(f"{SEED} not present (the shared folder beside the checkout)")
    html, elements = stamp((SEED / name).read_text(encoding="utf-8"))
    response = classify(client, {"html": html})
    assert response.status_code == 200
    answer = response.get_json()
    check_answer(answer, elements)
    for i in answer["hide"]:
        assert unlabelled_text(elements[int(i[1:])]) == "", f"{i} holds content text"


WORDS = [
    "donate",
    "support us",
    "membership",
    "subscribe",
    "please",
    "readers",
    "the council",
    "river",
    "election",
    "support for",
    "$5",
    "today",
    "journalism",
    "football",
    "&amp;",
    "é",
]
TAGS = ["div", "p", "span", "section", "aside", "a", "b", "li", "h2"]


@st.composite
def html_trees(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(st.sampled_from(TAGS))
    text = " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=12)))
    children = draw(st.lists(html_trees(depth + 1), max_size=3)) if depth < 3 else []
    return f"<{tag}>{text}{''.join(children)}</{tag}>"


@settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(html_trees(), min_size=1, max_size=4))
def test_answers_keep_their_invariants(client: FlaskClient, trees: list[str]) -> None:
    html, elements = stamp(f"<html><body>{''.join(trees)}</body></html>")
    response = classify(client, {"html": html})
    assert response.status_code == 200
    check_answer(response.get_json(), elements)


@settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=300))
def test_no_html_string_makes_a_500(client: FlaskClient, text: str) -> None:
    response = classify(client, {"html": text})
    assert response.status_code in (200, 400)
    assert "error" in response.get_json() or "hide" in response.get_json()


# --- gzip ----------------------------------------------------------------------------------


def test_gzip_body_gets_the_plain_answer(client: FlaskClient) -> None:
    html, _ = stamp(PAGE)
    body = json.dumps({"html": html}).encode()
    plain = client.post("/v1/classify", data=body, content_type=JSON).get_json()
    for coding in ("gzip", "x-gzip"):
        zipped = client.post(
            "/v1/classify", data=gzip.compress(body), content_type=JSON, headers={"Content-Encoding": coding}
        ).get_json()
        assert zipped["hide"] == plain["hide"] and zipped["blocks"] == plain["blocks"]


def test_gzip_with_several_members(client: FlaskClient) -> None:
    body = json.dumps({"html": "<p data-hush-id='a'>Hello there</p>"}).encode()
    data = gzip.compress(body[:10]) + gzip.compress(body[10:])
    response = client.post("/v1/classify", data=data, content_type=JSON, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 200


@pytest.mark.parametrize("data", [b"not gzip at all", gzip.compress(b'{"html": "x"}')[:-9], b""])
def test_bad_gzip_is_400(client: FlaskClient, data: bytes) -> None:
    response = client.post("/v1/classify", data=data, content_type=JSON, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_gzip"


def gzip_bombs() -> list[bytes]:
    """One gzip member inflating to 64 MiB, and 1024 members of 1 MiB each (1 GiB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    single = b"".join(packer.compress(zeros) for _ in range(64)) + packer.flush()
    return [single, gzip.compress(zeros) * 1024]


@pytest.mark.parametrize("bomb", gzip_bombs(), ids=["one-member", "many-members"])
def test_gzip_bomb_is_413_without_expanding_it(client: FlaskClient, bomb: bytes) -> None:
    response = client.post("/v1/classify", data=bomb, content_type=JSON, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_gzip_limit_applies_to_decompressed_size(make_client: Callable[..., FlaskClient]) -> None:
    body = json.dumps({"html": "<p>" + "a" * 5000 + "</p>"}).encode()
    client = make_client(MAX_BYTES=4000)
    zipped = gzip.compress(body)
    assert len(zipped) < 4000
    response = client.post(
        "/v1/classify", data=zipped, content_type=JSON, headers={"Content-Encoding": "gzip"}
    )
    assert response.status_code == 413


def test_a_page_of_more_elements_than_hush_reads_is_413(client: FlaskClient) -> None:
    """A body under the byte limit can still hold more elements than the model reads (the extension skips
    such pages): a clear 413 at once, not minutes of work and gigabytes in a worker."""
    response = client.post("/v1/classify", json={"html": "<p>a</p>" * 100_001})
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "too_many_elements" and "100,000 elements" in error["message"]
    assert client.post("/v1/classify", json={"html": "<p>a</p>" * 99_990}).status_code == 200


def test_a_page_with_an_element_of_too_many_attributes_is_413(client: FlaskClient) -> None:
    """libxml2 parses a start tag's attributes in time that grows with the square of their number, in C,
    where no time limit reaches: 100,000 of them (0.9 MB) held a worker until it was killed, and the
    client got no answer. Quoted values holding ">", and attributes with no space between them, count."""
    for tag in (
        "<p " + " ".join(f"a{i}=x" for i in range(300)) + ">",
        '<div title=">" ' + "".join(f'a{i}="x"' for i in range(300)) + ">",
    ):
        response = client.post("/v1/classify", json={"html": tag + "Text</p>"})
        assert response.status_code == 413, tag[:40]
        error = response.get_json()["error"]
        assert error["code"] == "too_many_attributes" and "256 attributes" in error["message"]
    fine = "<p " + " ".join(f"a{i}=x" for i in range(255)) + ">Text</p>"
    assert client.post("/v1/classify", json={"html": fine}).status_code == 200


def test_other_content_encoding_is_415(client: FlaskClient) -> None:
    response = client.post("/v1/classify", data=b"{}", content_type=JSON, headers={"Content-Encoding": "br"})
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_encoding"


# --- sizes ---------------------------------------------------------------------------------


def body_of_size(size: int) -> bytes:
    head, tail = b'{"html": "<p data-hush-id=\\"a\\">', b'</p>"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_body_at_the_limit_passes_and_one_byte_more_is_413(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client(MAX_BYTES=2000)
    assert client.post("/v1/classify", data=body_of_size(2000), content_type=JSON).status_code == 200
    response = client.post("/v1/classify", data=body_of_size(2001), content_type=JSON)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_default_limit_is_8_mb(client: FlaskClient, app: Flask) -> None:
    assert app.config["MAX_BYTES"] == 8 * 1024 * 1024
    response = client.post("/v1/classify", data=body_of_size(8 * 1024 * 1024 + 1), content_type=JSON)
    assert response.status_code == 413


def test_chunked_body_without_content_length_is_bounded(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client(MAX_BYTES=2000)

    def chunked(body: bytes) -> Request:
        environ = EnvironBuilder(
            path="/v1/classify", method="POST", content_type=JSON, input_stream=io.BytesIO(body)
        ).get_environ()
        del environ["CONTENT_LENGTH"]
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
        return Request(environ)

    assert client.open(chunked(body_of_size(1500))).status_code == 200
    response = client.open(chunked(body_of_size(50_000)))
    assert response.status_code == 413


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"{", "invalid_json"),
        (b"", "invalid_json"),
        (b"\xff\xfe{}", "invalid_json"),
        (b'{"html": NaN}', "invalid_json"),
        (b"[" * 100_000 + b"]" * 100_000, "invalid_json"),
        (b'{"html": "x"} trailing', "invalid_json"),
        (b"[]", "invalid_body"),
        (b'"<p>x</p>"', "invalid_body"),
        (b"{}", "missing_field"),
        (b'{"html": null}', "missing_field"),
        (b'{"html": ""}', "empty_html"),
        (b'{"html": " \\n\\t"}', "empty_html"),
        (b'{"html": 5}', "invalid_field"),
        (b'{"html": ["<p>x</p>"]}', "invalid_field"),
        (b'{"html": {"a": 1}}', "invalid_field"),
        (b'{"html": "<p>x</p>", "url": 5}', "invalid_field"),
        (b'{"html": "<p>x</p>", "url": ["https://a.example"]}', "invalid_field"),
        (b'{"html": "<p>x</p>", "context": "title"}', "invalid_field"),
        (b'{"html": "<p>x</p>", "context": [1]}', "invalid_field"),
        (b'{"html": "<p>x</p>", "context": {"title": 5}}', "invalid_field"),
        (b'{"html": "<p>x</p>", "context": {"lang": true}}', "invalid_field"),
        (b'{"html": "<p>\\ud800</p>"}', "invalid_field"),
    ],
)
def test_bad_bodies_are_400(client: FlaskClient, data: bytes, code: str) -> None:
    response = client.post("/v1/classify", data=data, content_type=JSON)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"] and set(error) == {"code", "message"}


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "text/json"]
)
def test_non_json_content_type_is_415(client: FlaskClient, content_type: str | None) -> None:
    response = client.post("/v1/classify", data=b'{"html": "<p>x</p>"}', content_type=content_type)
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"


def test_json_with_charset_is_accepted(client: FlaskClient) -> None:
    data = b'{"html": "<p>x</p>"}'
    response = client.post("/v1/classify", data=data, content_type="application/json; charset=utf-8")
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/nope", "/v1/nope", "/v1", "/healthz/x", "/v2/classify"])
def test_unknown_path_is_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/classify"), ("PUT", "/v1/classify"), ("POST", "/healthz"), ("DELETE", "/v1/model")],
)
def test_wrong_method_is_405(client: FlaskClient, method: str, path: str) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "Allow" in response.headers


def test_unexpected_error_is_json_500_without_traceback(hush_model: Any) -> None:
    app = create_app({"MODEL": hush_model, "TESTING": True})

    def broken() -> str:
        raise RuntimeError("secret detail")

    app.add_url_rule("/broken", view_func=broken)
    response = app.test_client().get("/broken")
    assert response.status_code == 500
    assert response.get_json() == {
        "error": {"code": "internal_error", "message": "the server could not process this request"}
    }
    assert b"secret" not in response.data and b"Traceback" not in response.data


# --- token ---------------------------------------------------------------------------------


def test_a_name_pointed_at_this_machine_is_refused_without_a_token(
    make_client: Callable[..., FlaskClient],
) -> None:
    """DNS rebinding: a web page whose name its owner points at 127.0.0.1 reached a token-less endpoint
    as a page of that name and read its answers (the model file's path among them)."""
    client = make_client()
    for path in ("/v1/model", "/healthz"):
        refused = client.get(path, headers={"Host": "rebind.example:8787"})
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden_host"
    page = {"html": "<p>Harbour news.</p>"}
    assert client.post("/v1/classify", json=page, headers={"Host": "rebind.example"}).status_code == 403
    for host in ("127.0.0.1:8787", "localhost:8787", "[::1]:8787", "192.168.1.20:8787"):
        assert client.get("/v1/model", headers={"Host": host}).status_code == 200, host
    lan = {"REMOTE_ADDR": "192.168.1.7"}  # another machine, warned about at start: names work
    assert client.get("/v1/model", headers={"Host": "hush.lan"}, environ_base=lan).status_code == 200
    guarded = make_client(TOKEN="t")  # behind a proxy on this machine, under the site's name
    auth = {"Host": "hush.example.org", "Authorization": "Bearer t"}
    assert guarded.get("/v1/model", headers=auth).status_code == 200


def test_token_guards_v1_but_not_healthz(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client(TOKEN="s3cret-token")
    payload = {"html": "<p data-hush-id='a'>x</p>"}
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "s3cret-token"},
        {"Authorization": "Basic s3cret-token"},
        {"Authorization": "Bearer "},
    ):
        response = classify(client, payload, **headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/v1/model").status_code == 401
    assert client.get("/v1/nope").status_code == 401  # does not reveal which /v1/ paths exist
    assert client.get("/healthz").status_code == 200
    good = {"Authorization": "Bearer s3cret-token"}
    assert classify(client, payload, **good).status_code == 200
    assert classify(client, payload, Authorization="bearer s3cret-token").status_code == 200
    assert client.get("/v1/model", headers=good).status_code == 200


def test_token_from_environment(hush_model: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUSH_TOKEN", "from-env")
    client = create_app({"MODEL": hush_model}).test_client()
    assert client.get("/v1/model").status_code == 401
    assert client.get("/v1/model", headers={"Authorization": "Bearer from-env"}).status_code == 200


# --- CORS ----------------------------------------------------------------------------------


def test_no_cors_headers_by_default(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={"Origin": "https://a.example"})
    assert not [name for name, _ in response.headers if name.lower().startswith("access-control")]


def test_cors_for_one_origin(make_client: Callable[..., FlaskClient]) -> None:
    client = make_client(CORS_ORIGIN="https://ok.example", TOKEN="t")
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    response = client.options("/v1/classify", headers={"Origin": "https://ok.example", **preflight})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://ok.example"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()
    response = client.options("/v1/classify", headers={"Origin": "https://evil.example", **preflight})
    assert "Access-Control-Allow-Origin" not in response.headers
    headers = {"Origin": "https://ok.example", "Authorization": "Bearer t"}
    response = classify(client, {"html": "<p>x</p>"}, **headers)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://ok.example"
    response = classify(client, {"html": "<p>x</p>"}, Origin="https://evil.example", Authorization="Bearer t")
    assert "Access-Control-Allow-Origin" not in response.headers


def test_plain_options_lists_the_methods_without_a_body(make_client: Callable[..., FlaskClient]) -> None:
    """OPTIONS that is no preflight (curl -X OPTIONS) was an empty 200 said to be text/html, or a 401
    under a token; it is a 204 naming the route's methods. An unknown route is still a JSON 404."""
    client = make_client(TOKEN="t")
    response = client.options("/v1/classify")
    assert response.status_code == 204 and not response.data
    assert "POST" in response.headers["Allow"] and "Content-Type" not in response.headers
    assert "GET" in client.options("/healthz").headers["Allow"]
    response = client.options("/nowhere")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_the_origin_is_matched_as_browsers_spell_it(make_client: Callable[..., FlaskClient]) -> None:
    """Capitals, the scheme's own port and a '/' at the end, which no Origin header carries."""
    client = make_client(CORS_ORIGIN="HTTPS://Ok.Example:443/")
    response = classify(client, {"html": "<p>x</p>"}, Origin="https://ok.example")
    assert response.headers["Access-Control-Allow-Origin"] == "https://ok.example"
    client = make_client(CORS_ORIGIN="http://127.0.0.1:3000")
    response = classify(client, {"html": "<p>x</p>"}, Origin="http://127.0.0.1")
    assert "Access-Control-Allow-Origin" not in response.headers


# --- logging, config, openapi ----------------------------------------------------------------


def test_one_log_line_without_page_content(client: FlaskClient, access_lines: list[str]) -> None:
    html, _ = stamp(PAGE)
    client.post("/v1/classify?q=private", json={"url": "https://gazette.example/river", "html": html})
    assert len(access_lines) == 1
    line = access_lines[0]
    assert line.startswith("POST /v1/classify 200 in=") and " out=" in line and line.endswith("ms")
    for private in ("gazette", "private", "volunteers", "River"):
        assert private not in line


def test_the_log_counts_the_body_bytes_read(
    make_client: Callable[..., FlaskClient], access_lines: list[str]
) -> None:
    """A body refused for the length it announced was logged as received in full (in=999999999B for a
    client that sent two bytes)."""
    client = make_client(MAX_BYTES=4000)
    assert (
        client.post("/v1/classify", data=b"{}" + b" " * 4998, content_type="application/json").status_code
        == 413
    )
    body = json.dumps({"html": "<p>x</p>"}).encode()
    assert client.post("/v1/classify", data=body, content_type="application/json").status_code == 200
    assert " 413 in=0B " in access_lines[0] and f" 200 in={len(body)}B " in access_lines[1], access_lines


def test_log_urls_when_asked(make_client: Callable[..., FlaskClient], access_lines: list[str]) -> None:
    client = make_client(LOG_URLS=True)
    client.post("/v1/classify?q=1", json={"url": "https://gazette.example/river", "html": "<p>x</p>"})
    assert "https://gazette.example/river" in access_lines[0] and "q=1" in access_lines[0]


@pytest.mark.parametrize(
    "config",
    [
        {"MAX_BYTES": 0},
        {"MAX_BYTES": "lots"},
        {"LOG_URLS": "maybe"},
        {"CORS_ORIGIN": "*"},
        {"CORS_ORIGIN": "ok.example"},  # no scheme: no Origin header is ever spelt so
        {"CORS_ORIGIN": "https://ok.example/app"},
        {"CORS_ORIGIN": "https://ok.example:https"},
        {"TOKEN": "s\u00ebkrit"},  # a header carries bytes: no client's encoding of it would ever match
        {"TOKEN": "two words"},
        # Given but empty: no token at all, or the shipped model, without a word, if let through.
        {"TOKEN": ""},
        {"TOKEN": "   "},
        {"MODEL_PATH": ""},
        {"CORS_ORIGIN": "https://a.example,https://b.example"},
        {"CORS_ORIGIN": "https://b\u00fccher.example"},  # browsers send xn--bcher-kva.example
    ],
)
def test_bad_settings_stop_the_app(hush_model: Any, config: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        create_app({"MODEL": hush_model, **config})


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_token_variable_stops_the_app(
    hush_model: Any, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """`HUSH_TOKEN=` left in an env file must not serve every /v1/ route to anyone."""
    monkeypatch.setenv("HUSH_TOKEN", value)
    with pytest.raises(ConfigError, match="HUSH_TOKEN is given but empty"):
        create_app({"MODEL": hush_model})


def test_setting_errors_name_the_setting_as_given(hush_model: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUSH_MAX_BYTES", "8MB")
    with pytest.raises(ConfigError, match="^HUSH_MAX_BYTES must be a whole number"):
        create_app({"MODEL": hush_model})
    with pytest.raises(ConfigError, match="^--max-bytes must be a whole number"):
        create_app({"MODEL": hush_model, "MAX_BYTES": "x"}, {"MAX_BYTES": "--max-bytes"})


def test_an_extension_origin_is_kept_whole(make_client: Callable[..., FlaskClient]) -> None:
    """An origin with no port and a scheme with no default port (chrome-extension://id) lost its host."""
    origin = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"
    client = make_client(CORS_ORIGIN=origin)
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    response = client.options("/v1/classify", headers=preflight)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == origin


def test_missing_model_stops_the_app(tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        create_app({"MODEL_PATH": str(tmp_path / "missing.skops")})
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError):
        create_app({"MODEL_PATH": str(bad)})


def test_openapi_is_served_and_lists_every_route(client: FlaskClient, app: Flask) -> None:
    document = client.get("/openapi.json").get_json()
    assert document == openapi_document()
    assert document["openapi"].startswith("3.1")
    routes = {
        (rule.rule, method.lower())
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routes == described


def test_openapi_is_valid_and_matches_answers(client: FlaskClient) -> None:
    pytest.importorskip("openapi_spec_validator")
    jsonschema = pytest.importorskip("jsonschema")
    from openapi_spec_validator import validate

    document = openapi_document()
    validate(document)

    def check(instance: Any, name: str) -> None:
        schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
        jsonschema.Draft202012Validator(schema).validate(instance)

    html, _ = stamp(PAGE)
    check({"html": html, "url": "https://a.example", "context": {"title": "t"}}, "ClassifyRequest")
    check(classify(client, {"html": html}).get_json(), "ClassifyResponse")
    check(client.get("/healthz").get_json(), "Health")
    check(client.get("/v1/model").get_json(), "ModelInfo")
    check(client.post("/v1/classify", data=b"{", content_type=JSON).get_json(), "Error")
