"""The ``hush`` command line: clear one-line errors and non-zero exits, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from model.labelled import has_labels
from server.cli import main

APPEAL_PAGE = """<html><body><article><p>The ferry timetable changes next week.</p>
<div data-hush-label="appeal"><h3>Support us</h3><p>Donate monthly.</p></div></article></body></html>"""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", ["classify", "evaluate"])
def test_a_missing_page(capsys, tmp_path, command):
    code, _, err = run(capsys, command, str(tmp_path / "missing.html"))
    assert code == 2 and "no such file" in err and err.count("\n") == 1


@pytest.mark.parametrize("command", ["classify", "label"])
def test_a_web_address_for_a_page(capsys, command):
    code, _, err = run(capsys, command, "https://news.example/story.html")
    assert code == 2 and "no such file (a web address: save the page first" in err and err.count("\n") == 1


def test_an_empty_page(capsys, tmp_path):
    empty = tmp_path / "empty.html"
    empty.write_text("  \n")
    code, _, err = run(capsys, "classify", str(empty))
    assert code == 2 and "empty" in err


def test_a_binary_page(capsys, tmp_path):
    binary = tmp_path / "image.html"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    code, _, err = run(capsys, "classify", str(binary))
    assert code == 2 and "binary" in err


def test_evaluate_names_the_pages_it_cannot_read_and_scores_the_rest(capsys, tmp_path):
    """As train and corpus stats do; --strict stops at the first instead."""
    (tmp_path / "a.html").write_text(APPEAL_PAGE)
    (tmp_path / "empty.html").write_text("  \n")
    (tmp_path / "image.html").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    code, out, err = run(capsys, "evaluate", str(tmp_path))
    assert code == 0, err
    assert "skipped" in err and "empty.html" in err and "image.html" in err and "Traceback" not in err
    assert "1 pages (2 skipped: not readable)" in out, out
    code, out, err = run(capsys, "evaluate", str(tmp_path), "--json")
    assert code == 0 and [Path(r["page"]).name for r in json.loads(out)["pages"]] == ["a.html"]
    assert len(json.loads(out)["skipped"]) == 2
    code, out, err = run(capsys, "evaluate", str(tmp_path), "--strict")
    assert code == 2 and "empty.html" in err and "(--strict)" in err and not out
    (tmp_path / "a.html").unlink()
    code, _, err = run(capsys, "evaluate", str(tmp_path))
    assert code == 2 and "no HTML pages to evaluate that could be read" in err


def test_an_unreadable_model(capsys, tmp_path):
    page = tmp_path / "p.html"
    page.write_text(APPEAL_PAGE)
    model = tmp_path / "model.skops"
    model.write_text("not a model")
    code, _, err = run(capsys, "classify", str(page), "--model", str(model))
    assert code == 2 and "not a Hush model" in err


def test_train_rejects_a_folder_without_labelled_pages(capsys, tmp_path):
    (tmp_path / "a.html").write_text("<p>Nothing labelled here.</p>")
    code, _, err = run(capsys, "train", str(tmp_path), "--out", str(tmp_path / "m.skops"))
    assert code == 2 and "no labelled pages" in err
    assert not (tmp_path / "m.skops").exists()


def test_train_rejects_pages_without_any_appeal(capsys, tmp_path):
    (tmp_path / "a.html").write_text('<p>News.</p><p data-hush-label="other">Free newsletter.</p>')
    code, _, err = run(capsys, "train", str(tmp_path), "--out", str(tmp_path / "m.skops"))
    assert code == 2 and "no appeal" in err


def test_train_on_pages_too_few_to_fit_a_model(capsys, tmp_path):
    """Two pages whose appeal boxes hold no link: a column of the box model has no value at all."""
    (tmp_path / "a.html").write_text(
        '<body><div data-hush-label="appeal"><p>Spenden Sie jetzt für unsere Zeitung</p></div><p>Inhalt</p>'
    )
    (tmp_path / "b.html").write_text(
        "<body><p>The council met on Monday.</p><div data-hush-label='appeal'><h3>Support our journalism</h3>"
        "<p>Please donate monthly: $5, $10 or $25.</p><p data-hush-label='other'>free newsletter</p></div>"
    )
    code, _, err = run(capsys, "train", str(tmp_path), "--out", str(tmp_path / "m.skops"))
    last = err.strip().splitlines()[-1]
    assert code == 2 and last.startswith("hush train: error: the labelled pages are too few"), err
    assert "Traceback" not in err and not (tmp_path / "m.skops").exists()


def test_train_rejects_a_missing_folder(capsys, tmp_path):
    code, _, err = run(capsys, "train", str(tmp_path / "nowhere"))
    assert code == 2 and "no such file or folder" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--halvings", "1"], "--halvings goes with --report"), (["--halvings", "-1"], "0 or more")],
)
def test_train_rejects_halvings_it_cannot_use(capsys, tmp_path, extra, message):
    (tmp_path / "a.html").write_text(APPEAL_PAGE)
    report = [] if extra[1] == "1" else ["--report", str(tmp_path / "r.md")]
    code, _, err = run(capsys, "train", str(tmp_path), "--out", str(tmp_path / "m.skops"), *extra, *report)
    assert code == 2 and message in err
    assert not (tmp_path / "m.skops").exists()


@pytest.mark.parametrize("weight", ["0", "-1", "nan", "inf", "1e308"])
def test_train_rejects_a_weight_it_cannot_use(capsys, tmp_path, weight):
    (tmp_path / "a.html").write_text(APPEAL_PAGE)
    code, _, err = run(capsys, "train", str(tmp_path), "--out", str(tmp_path / "m.skops"), "--weight", weight)
    assert code == 2 and "--weight must be a number above 0 and at most 1000" in err
    assert not (tmp_path / "m.skops").exists()


def test_train_checks_where_it_will_write_before_training(capsys, tmp_path):
    """A model or report path that cannot be written stops the run at once, not after the training."""
    (tmp_path / "a.html").write_text(APPEAL_PAGE)
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    kept = tmp_path / "kept.skops"  # made read-only by its owner, to keep it
    kept.write_text("an older model")
    kept.chmod(0o444)
    model = str(tmp_path / "m.skops")
    cases = [
        (["--out", str(tmp_path)], "--out", "that is a folder"),
        (["--out", str(kept)], str(kept), "it is read-only"),
        (["--out", model, "--report", str(kept)], str(kept), "it is read-only"),
        (["--out", str(blocker / "m.skops")], str(blocker), "not a folder"),
        (["--out", model, "--report", str(blocker / "r.md")], str(blocker), "not a folder"),
    ]
    for args, named, said in cases:
        code, out, err = run(capsys, "train", str(tmp_path), *args)
        assert code == 2 and named in err and said in err and err.count("\n") == 1, err
        assert "trained" not in out
    assert not (tmp_path / "m.skops").exists() and blocker.read_text() == "a file, not a folder"
    assert kept.read_text() == "an older model"


def test_train_never_writes_over_its_own_pages_or_model(capsys, tmp_path):
    """The model and the report are different files, and neither replaces a page training reads (or its
    sidecar) nor lands in a training folder as a page the next run would read."""
    pages = tmp_path / "pages"
    pages.mkdir()
    page = pages / "a.html"
    page.write_text(APPEAL_PAGE)
    sidecar = pages / "a.json"
    sidecar.write_text('{"url": "https://news.example/a"}')
    model = str(tmp_path / "m.skops")
    cases = [
        (["--out", model, "--report", model], "both name"),
        (["--out", str(page)], "a page training reads"),
        (["--out", model, "--report", str(page)], "a page training reads"),
        (["--out", model, "--report", str(sidecar)], "a page training reads"),
        (["--out", model, "--report", str(pages / "sub" / "report.html")], "a page training reads"),
    ]
    for args, said in cases:
        code, out, err = run(capsys, "train", str(pages), *args, "--force")
        assert code == 2 and said in err and err.count("\n") == 1, (args, err)
        assert "trained" not in out
    assert page.read_text() == APPEAL_PAGE and sidecar.read_text().startswith("{")
    assert not (tmp_path / "m.skops").exists() and not (pages / "sub").exists()


def test_a_folder_given_twice_is_refused(capsys, tmp_path):
    """Its pages would be trained twice, at twice the weight, without a word."""
    pages = tmp_path / "pages"
    (pages / "de").mkdir(parents=True)
    (pages / "de" / "a.html").write_text(APPEAL_PAGE)
    for extra in (["--with", str(pages) + "/"], [str(pages / "de")]):
        code, _, err = run(capsys, "train", str(pages), *extra, "--out", str(tmp_path / "m.skops"))
        assert code == 2 and "hold the same pages" in err, err
    assert not (tmp_path / "m.skops").exists()


@pytest.mark.parametrize("command", [["evaluate"], ["corpus", "stats"]])
def test_a_label_that_is_neither_appeal_nor_other_is_named(capsys, tmp_path, command):
    (tmp_path / "a.html").write_text(APPEAL_PAGE.replace('"appeal"', '"apeal"'))
    (tmp_path / "b.html").write_text(APPEAL_PAGE.replace('"appeal"', '"Appeal"'))  # read as appeal
    (tmp_path / "c.html").write_text(APPEAL_PAGE.replace('"appeal"', '"content"'))  # said outright
    code, _, err = run(capsys, *command, str(tmp_path))
    assert code == 0
    warnings = [line for line in err.splitlines() if "warning:" in line]
    assert len(warnings) == 1 and "a.html: data-hush-label 'apeal' read as content" in warnings[0], err


def test_labels_against_the_guideline_are_named(capsys, tmp_path):
    """A label on <body> makes the whole page an appeal, a label inside a label says nothing: both are
    named, as a typo is, rather than learnt from quietly."""
    (tmp_path / "body.html").write_text(APPEAL_PAGE.replace("<body>", '<body data-hush-label="appeal">', 1))
    (tmp_path / "nested.html").write_text(
        APPEAL_PAGE.replace(
            'data-hush-label="appeal">', 'data-hush-label="appeal"><p data-hush-label="appeal">x</p>', 1
        )
    )
    empty = APPEAL_PAGE.replace('<div data-hush-label="appeal">', "<div>").replace(
        "</article>",
        '<a href="/donate" data-hush-label="appeal"><img src="give.png" alt="Give"></a>'
        '<div data-hush-label="appeal"> <script>var give = 1;</script> </div></article>',
    )
    (tmp_path / "empty.html").write_text(empty)
    (tmp_path / "image-too.html").write_text(APPEAL_PAGE.replace("</article>", empty[empty.index("<a h") :]))
    code, _, err = run(capsys, "evaluate", str(tmp_path))
    assert code == 0
    assert "body.html: a label on <body> takes in the whole page" in err, err
    assert "nested.html: 1 label(s) inside another label (the inner one decides its text)" in err, err
    assert "empty.html: its appeal labels hold no text, so nothing on it is learnt" in err, err
    assert err.count("hold no text") == 1, err  # an image labelled beside an appeal with text is fine


def test_pages_in_a_linked_folder_are_read_once(capsys, tmp_path):
    """A folder of pages linked into the corpus (``ln -s``) is read like any other; a link back up the
    tree is not followed round."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "a.html").write_text(APPEAL_PAGE)
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "b.html").write_text(APPEAL_PAGE.replace("ferry", "tram"))
    (pages / "linked").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "loop").symlink_to(pages, target_is_directory=True)
    code, out, err = run(capsys, "evaluate", str(pages), "--json")
    assert code == 0, err
    names = sorted(Path(row["page"]).name for row in json.loads(out)["pages"])
    assert names == ["a.html", "b.html"], names


def test_evaluating_pages_without_any_appeal_says_what_the_scores_mean(capsys, tmp_path):
    page = tmp_path / "news.html"
    page.write_text("<p>The ferry timetable changes next week.</p>")
    code, out, err = run(capsys, "evaluate", str(page))
    assert code == 0 and "recall 1.000" in out
    assert "no page labels an appeal" in err
    assert f"{page}: nothing on it says what it holds" in err and "scored as content" in err


def test_a_page_labelled_in_utf_16_counts_as_labelled(capsys, tmp_path):
    """hush label saves a UTF-16 page in UTF-16; its label, looked for as ASCII bytes, was not found, and
    hush train refused the folder as holding no labelled page."""
    (tmp_path / "u16.html").write_bytes(APPEAL_PAGE.encode("utf-16"))
    code, out, err = run(capsys, "evaluate", str(tmp_path))
    assert code == 0 and "nothing on it says" not in err and "u16.html       23" in out, (out, err)
    assert has_labels(tmp_path / "u16.html")
    (tmp_path / "upper.html").write_text(APPEAL_PAGE.replace("data-hush-label", "DATA-HUSH-LABEL"))
    assert has_labels(tmp_path / "upper.html")


@pytest.mark.parametrize("command", ["evaluate", "corpus stats"])
def test_a_page_found_twice_is_counted_once(capsys, tmp_path, command):
    """hush train leaves out a byte-for-byte copy; evaluate and corpus stats counted it, so that one folder
    gave other numbers there than in training."""
    (tmp_path / "a.html").write_text(APPEAL_PAGE)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "a.html").write_text(APPEAL_PAGE)
    code, out, err = run(capsys, *command.split(), "--json", str(tmp_path))
    assert code == 0 and f"skipped {tmp_path / 'b' / 'a.html'}: the same page as {tmp_path / 'a.html'}" in err
    result = json.loads(out)
    pages = (
        result["summary"]["pages"]
        if command == "evaluate"
        else sum(row["pages"] for row in result["label"].values())
    )
    assert pages == 1, out


def test_classify_prints_the_blocks_it_would_hide(capsys, tmp_path):
    page = tmp_path / "p.html"
    page.write_text(APPEAL_PAGE)
    code, out, _ = run(capsys, "classify", str(page))
    assert code == 0 and "blocks would be hidden" in out


def test_errors_reach_the_shell_without_a_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "evaluate", str(tmp_path / "nope.html")],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stderr.startswith("hush evaluate: error:")


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    """`hush classify page.html | head -1`: the pipe closes before the output is written."""
    page = tmp_path / "p.html"
    page.write_text(APPEAL_PAGE)
    command = [sys.executable, "-m", "server.cli", "classify", str(page)]
    cwd = Path(__file__).resolve().parents[1]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd) as proc:
        proc.stdout.close()
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    assert code == 141 and "Traceback" not in err and "BrokenPipe" not in err, err


def test_corpus_stats_counts_pages_blocks_and_characters(capsys, tmp_path):
    (tmp_path / "a.html").write_text(APPEAL_PAGE)
    meta = {"label": "appeal", "kind": "donation", "lang": "en", "style": "noclass"}
    (tmp_path / "a.json").write_text(json.dumps(meta))
    (tmp_path / "b.html").write_text("<p>Tide tables for May.</p>")
    code, out, _ = run(capsys, "corpus", "stats", str(tmp_path), "--json")
    assert code == 0
    result = json.loads(out)
    appeal = result["label"]["appeal"]
    assert appeal["pages"] == 1 and appeal["appeal_blocks"] == 2 and appeal["content_blocks"] == 1
    assert appeal["appeal_chars"] == len("SupportusDonatemonthly.")
    assert result["label"]["?"]["content_chars"] == len("TidetablesforMay.")
    assert result["lang"]["en"]["pages"] == 1


def test_ctrl_c_while_hush_is_starting_is_an_interruption(capsys, monkeypatch):
    """hush loads scikit-learn, Flask and gunicorn as it starts (about a second): a Ctrl-C then ends it
    with one line and status 130, as later, not a traceback."""
    import server.cli

    def interrupted() -> list:
        raise KeyboardInterrupt

    monkeypatch.setattr(server.cli, "command_modules", interrupted)
    assert main(["model", "info"]) == 130
    assert capsys.readouterr().err == "hush: interrupted\n"


def test_the_command_line_module_loads_no_heavy_library():
    """What the `hush` launcher imports before main() runs, where a Ctrl-C would escape it."""
    heavy = "{'sklearn', 'flask', 'gunicorn', 'lxml'}"
    code = f"import sys, server.cli; print(sorted({heavy} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "argv",
    [
        ["--timeout", "99999999999"],  # socket deadlines overflowed: every request dropped
        ["--token", ""],  # no token at all, without a word
        ["--model", ""],  # the shipped model, without a word
    ],
)
def test_serve_refuses_settings_it_cannot_honour(capsys, argv):
    with pytest.raises(SystemExit) as stopped:
        code = main(["serve", "--port", "0", *argv])
        raise SystemExit(code)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {argv[0]}: at most" in err or err.startswith(f"hush serve: error: {argv[0]} is")


def test_a_stop_as_the_model_and_report_are_moved_into_place_waits_for_both():
    """A SIGTERM between the report and the model left a report naming a model the file did not hold."""
    import signal

    from server.cli_train import _SignalsHeld

    received = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    # Another thread (BLAS's, the worker pool's): a signal mask is one thread's, and the kernel hands the
    # signal to a thread that does not block it.
    done = threading.Event()
    other = threading.Thread(target=done.wait)
    other.start()
    try:
        with _SignalsHeld() as held:
            os.kill(os.getpid(), signal.SIGTERM)  # while the files are written: at once
            assert received == [signal.SIGTERM]
            held.hold()
            os.kill(os.getpid(), signal.SIGTERM)  # as they are moved into place: after
            time.sleep(0.2)  # time for it to reach whichever thread takes it
            assert received == [signal.SIGTERM]
        assert received == [signal.SIGTERM, signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)
        done.set()
        other.join()
