"""``hush label``'s HTTP side and command line, without a browser: the routes, their errors and
safety headers, and the one-line errors of the command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from model.labelled import load_page
from server import create_app
from server.cli import main
from server.label import VIEW_POLICY, create_label_app

PAGE = """<!DOCTYPE html><html><head><title>t</title><base href="https://example.com/">
<link rel="preconnect" href="https://example.com"><link rel="stylesheet" href="site.css">
<meta http-equiv="refresh" content="0;url=https://example.com/"><script>alert(1)</script></head>
<body onload="alert(2)"><p id="news">The harbour wall was repaired on Monday.</p>
<div class="support" data-hush-label="appeal"><h3 id="ask">Support us</h3><p>Please donate monthly.</p></div>
Loose text at the end<iframe src="https://example.com/ad"></iframe></body></html>"""


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "page.html"
    path.parent.mkdir()
    path.write_text(PAGE, encoding="utf-8")
    return path


@pytest.fixture
def label_client(hush_model: Any, page: Path, tmp_path: Path) -> FlaskClient:
    app = create_label_app(page, tmp_path / "out", {"MODEL": hush_model, "TESTING": True})
    return app.test_client()


def state(client: FlaskClient) -> dict[str, Any]:
    answer = client.get("/label/state")
    assert answer.status_code == 200
    return answer.get_json()


def ids(client: FlaskClient, *texts: str) -> list[str]:
    blocks = state(client)["blocks"]
    return [next(b["id"] for b in blocks if b["text"] == text) for text in texts]


def test_the_labelling_page_and_its_files_are_served(label_client: FlaskClient) -> None:
    for path in ("/label/", "/label/static/label.js", "/label/static/label.css", "/label/static/frame.css"):
        answer = label_client.get(path)
        assert answer.status_code == 200, path
        assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert b'src="static/label.js"' in label_client.get("/label/").data


def test_the_page_is_shown_without_scripts_or_ways_out(label_client: FlaskClient) -> None:
    answer = label_client.get("/label/view")
    assert answer.headers["Content-Security-Policy"] == VIEW_POLICY
    assert "script-src 'none'" in VIEW_POLICY and "base-uri 'none'" in VIEW_POLICY
    html = answer.get_data(as_text=True)
    for gone in ("<script", "alert(", "<base", "http-equiv", "<iframe", "onload", "preconnect"):
        assert gone not in html
    assert 'href="site.css"' in html and answer.headers["X-DNS-Prefetch-Control"] == "off"
    assert 'data-hush-block="' in html and 'href="static/frame.css"' in html


def test_state_lists_blocks_scores_and_existing_labels(label_client: FlaskClient) -> None:
    answer = state(label_client)
    blocks = {b["text"]: b for b in answer["blocks"]}
    assert blocks["Support us"]["marked"] and blocks["Please donate monthly."]["marked"]
    assert not blocks["The harbour wall was repaired on Monday."]["marked"]
    assert not blocks["Loose text at the end"]["labellable"]
    assert all(0 <= b["score"] <= 1 for b in blocks.values())
    assert answer["groups"] == [sorted(ids(label_client, "Support us", "Please donate monthly."))]
    assert answer["page"] == "page.html" and answer["out"].endswith("page.html")


def test_save_writes_the_chosen_labels(label_client: FlaskClient, page: Path, tmp_path: Path) -> None:
    chosen = ids(label_client, "The harbour wall was repaired on Monday.", "Please donate monthly.")
    answer = label_client.post("/label/save", json={"marked": chosen})
    assert answer.status_code == 200, answer.get_json()
    out = tmp_path / "out" / "page.html"
    assert answer.get_json()["saved"] == str(out)
    saved = load_page(out, out.parent)
    got = [b.text for b, n in zip(saved.page.blocks, saved.appeal_chars, strict=True) if n]
    assert got == ["The harbour wall was repaired on Monday.", "Please donate monthly."]
    assert page.read_text(encoding="utf-8") == PAGE
    assert [p.name for p in out.parent.iterdir()] == ["page.html"]  # no temporary file left behind


def marked_texts(client: FlaskClient) -> list[str]:
    return [b["text"] for b in state(client)["blocks"] if b["marked"]]


def test_labelling_goes_on_from_the_copy_saved_before(
    hush_model: Any, label_client: FlaskClient, page: Path, tmp_path: Path
) -> None:
    """Opening the page again showed the original's labels, and saving replaced the earlier work; a
    reload of the labelling page after a save did the same."""
    news = "The harbour wall was repaired on Monday."
    label_client.post("/label/save", json={"marked": ids(label_client, news)})
    assert marked_texts(label_client) == [news]  # a reload shows what was saved
    again = create_label_app(page, tmp_path / "out", {"MODEL": hush_model, "TESTING": True}).test_client()
    assert marked_texts(again) == [news]
    chosen = ids(again, news, "Please donate monthly.")
    assert again.post("/label/save", json={"marked": chosen}).status_code == 200
    saved = load_page(tmp_path / "out" / "page.html", tmp_path / "out")
    got = [b.text for b, n in zip(saved.page.blocks, saved.appeal_chars, strict=True) if n]
    assert got == [news, "Please donate monthly."]
    assert page.read_text(encoding="utf-8") == PAGE


def test_a_save_never_replaces_what_another_session_saved(
    hush_model: Any, page: Path, tmp_path: Path
) -> None:
    """Two sessions on one output file (the same page twice, or two pages of one name): the last save
    replaced the other's work without a word."""
    config = {"MODEL": hush_model, "TESTING": True}
    first, second = (create_label_app(page, tmp_path / "out", config).test_client() for _ in range(2))
    assert first.post("/label/save", json={"marked": []}).status_code == 200
    written = (tmp_path / "out" / "page.html").read_bytes()
    answer = second.post("/label/save", json={"marked": ids(second, "Please donate monthly.")})
    assert answer.status_code == 409 and "changed on disk" in answer.get_json()["error"]["message"]
    assert (tmp_path / "out" / "page.html").read_bytes() == written
    assert first.post("/label/save", json={"marked": []}).status_code == 200  # its own file, saved again


def test_a_page_whose_name_is_near_the_limit_can_be_saved(hush_model: Any, tmp_path: Path) -> None:
    """The temporary file beside it took the name and 18 bytes more: past 255, every save failed."""
    long = tmp_path / "in" / ("a" * 240 + ".html")
    long.parent.mkdir()
    long.write_text(PAGE, encoding="utf-8")
    client = create_label_app(long, tmp_path / "out", {"MODEL": hush_model, "TESTING": True}).test_client()
    answer = client.post("/label/save", json={"marked": []})
    assert answer.status_code == 200, answer.get_json()
    assert [p.name for p in (tmp_path / "out").iterdir()] == [long.name]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"marked": ["zz"]}, 400, "invalid_blocks"),
        ({"marked": "1"}, 400, "invalid_body"),
        ([], 400, "invalid_body"),
        ({"marked": [1]}, 400, "invalid_body"),
    ],
)
def test_bad_saves_get_json_errors(label_client: FlaskClient, body: Any, status: int, code: str) -> None:
    answer = label_client.post("/label/save", json=body)
    assert answer.status_code == status and answer.get_json()["error"]["code"] == code


def test_a_block_with_no_element_cannot_be_saved_alone(label_client: FlaskClient) -> None:
    (loose,) = ids(label_client, "Loose text at the end")
    answer = label_client.post("/label/save", json={"marked": [loose]})
    assert answer.status_code == 400 and loose in answer.get_json()["error"]["message"]


def test_save_needs_json_and_a_local_origin(label_client: FlaskClient) -> None:
    assert label_client.post("/label/save", data="{}", content_type="text/plain").status_code == 415
    assert label_client.post("/label/save", data="{", content_type="application/json").status_code == 400
    evil = label_client.post("/label/save", json={"marked": []}, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    rebound = label_client.get("/label/state", headers={"Host": "evil.example:8788"})
    assert rebound.status_code == 403


def test_save_never_overwrites_the_page_itself(hush_model: Any, page: Path) -> None:
    client = create_label_app(page, page.parent, {"MODEL": hush_model, "TESTING": True}).test_client()
    answer = client.post("/label/save", json={"marked": []})
    assert answer.status_code == 409 and "never overwritten" in answer.get_json()["error"]["message"]
    assert page.read_text(encoding="utf-8") == PAGE


def test_an_unwritable_folder_is_a_json_error(hush_model: Any, page: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    client = create_label_app(page, blocker, {"MODEL": hush_model, "TESTING": True}).test_client()
    answer = client.post("/label/save", json={"marked": []})
    assert answer.status_code == 500 and answer.get_json()["error"]["code"] == "cannot_write"


def test_a_copy_made_read_only_is_never_replaced(hush_model: Any, page: Path, tmp_path: Path) -> None:
    """A labelled copy its owner made read-only (to keep it) was replaced all the same: a move over a
    file needs only the folder to be writable."""
    out = tmp_path / "out"
    client = create_label_app(page, out, {"MODEL": hush_model, "TESTING": True}).test_client()
    assert client.post("/label/save", json={"marked": []}).status_code == 200
    kept = (out / page.name).read_bytes()
    (out / page.name).chmod(0o444)
    answer = client.post("/label/save", json={"marked": ids(client, "Please donate monthly.")})
    assert answer.status_code == 500 and "read-only" in answer.get_json()["error"]["message"]
    assert (out / page.name).read_bytes() == kept and [p.name for p in out.iterdir()] == [page.name]


def test_hush_serve_has_no_label_routes(client: FlaskClient) -> None:
    for path in ("/label/", "/label/state", "/label/view"):
        assert client.get(path).status_code == 404
    assert client.post("/label/save", json={"marked": []}).status_code == 404
    assert "label" not in create_app({"MODEL": client.application.extensions["hush_model"]}).blueprints


# -- the command line ----------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def test_cli_refuses_a_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = run(capsys, "label", str(tmp_path / "nope.html"))
    assert code == 2 and err.strip() == f"hush label: error: {tmp_path / 'nope.html'}: no such file"


def test_cli_refuses_what_is_not_html(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    code, err = run(capsys, "label", str(notes))
    assert code == 2 and "not an HTML page" in err and err.count("\n") == 1
    binary = tmp_path / "image.html"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    code, err = run(capsys, "label", str(binary), "--out", str(tmp_path / "out"))
    assert code == 2 and "binary" in err and err.count("\n") == 1


def test_cli_refuses_an_unwritable_folder(
    capsys: pytest.CaptureFixture[str], page: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, err = run(capsys, "label", str(page), "--out", str(blocker / "sub"))
    assert code == 2 and "not a folder" in err and err.count("\n") == 1
    code, err = run(capsys, "label", str(page), "--out", str(page.parent))
    assert code == 2 and "would overwrite" in err


def test_cli_refuses_a_read_only_copy(capsys: pytest.CaptureFixture[str], page: Path, tmp_path: Path) -> None:
    saved = tmp_path / "out" / page.name
    saved.parent.mkdir()
    saved.write_text(PAGE, encoding="utf-8")
    saved.chmod(0o444)
    code, err = run(capsys, "label", str(page), "--out", str(saved.parent))
    assert code == 2 and f"{saved}: it is read-only" in err and err.count("\n") == 1


def test_cli_refuses_a_busy_port(capsys: pytest.CaptureFixture[str], page: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = run(capsys, "label", str(page), "--out", str(tmp_path / "o"), "--port", str(port))
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err and err.count("\n") == 1


def test_a_saved_copy_is_told_from_another_page_of_the_same_name(tmp_path: Path) -> None:
    """hush label refuses a folder holding a page of the same file name from elsewhere (siteA/index.html
    then siteB/index.html into one folder), not one holding its own copy saved before."""
    from model.relabel import same_page_labelled

    source = tmp_path / "a" / "index.html"
    source.parent.mkdir()
    source.write_text('<div class="box" data-hush-label=other><p>Give today.</p></div>')
    saved = tmp_path / "out" / "index.html"
    assert same_page_labelled(saved, source)  # nothing there yet
    saved.parent.mkdir()
    saved.write_text('<div class="box" data-hush-label="appeal"><p>Give today.</p></div>')
    assert same_page_labelled(saved, source)  # this page, labelled otherwise
    saved.write_text('<div class="box"><p>The ferry runs at ten.</p></div>')
    assert not same_page_labelled(saved, source)


def test_cli_refuses_a_folder_holding_another_page_of_the_same_name(
    capsys: pytest.CaptureFixture[str], page: Path, tmp_path: Path
) -> None:
    """It warned, then the first save replaced the other page's labelled copy."""
    other = tmp_path / "out" / "page.html"
    other.parent.mkdir()
    other.write_text("<p>Another site's page, labelled before.</p>", encoding="utf-8")
    code, err = run(capsys, "label", str(page), "--out", str(other.parent), "--port", "0")
    assert code == 2 and "holds another page of the same name" in err and err.count("\n") == 1
    assert other.read_text(encoding="utf-8") == "<p>Another site's page, labelled before.</p>"
