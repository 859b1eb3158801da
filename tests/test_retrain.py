"""Retraining with the user's own pages: held-out sites, weights, the comparison that guards the current
model, and what ``hush train`` prints. The corpus is written here (fifteen tiny sites), so runs take seconds.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from small_corpus import (
    LAMP_TOPICS,
    MORE_SITES,
    SITES,
    lamp_scores,
    page,
    train,
    write_corpus,
    write_lamp_pages,
)

import model.predict
import model.train
from model import load_model
from model.compare import MAX_PRECISION_DROP, Comparison
from model.heldout import MIN_SITES, is_held_out, split
from model.labelled import load_pages
from server.progress import ProgressBar
from server.train_summary import comparison_lines, cv_lines


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Fifteen tiny sites, and the model `hush train` makes of them."""
    root = tmp_path_factory.mktemp("retrain")
    corpus = write_corpus(root / "corpus", {**SITES, **MORE_SITES}, per_site=2)
    out = root / "current.skops"
    assert train(corpus, "--out", out) == 0
    return corpus, out


@pytest.fixture
def current(base: tuple[Path, Path], tmp_path: Path) -> Path:
    """A copy of the base model to be replaced (or not) by a test."""
    copy = tmp_path / "models" / "hush-model.skops"
    copy.parent.mkdir()
    copy.write_bytes(base[1].read_bytes())
    return copy


HELD_OUT = {"cliff-echo.example", "ridge-record.example", "lake-ledger.example"}


def test_held_out_sites_depend_on_the_name_alone():
    assert is_held_out("lake-ledger.example") and is_held_out(" Lake-Ledger.example ")
    assert not is_held_out("harbour-news.example")


def test_small_corpora_hold_nothing_out(base):
    pages, _ = load_pages([base[0]])
    kept, held = split(pages)
    assert {p.site for p in held} == HELD_OUT and len(kept) + len(held) == len(pages)
    few = [p for p in pages if p.site in SITES or p.site in HELD_OUT]
    assert len({p.site for p in few}) < MIN_SITES and split(few) == (few, [])


def test_the_model_records_and_scores_its_held_out_sites(base):
    meta = load_model(base[1]).metadata
    assert meta["held_out_sites"] == sorted(HELD_OUT)
    assert meta["held_out"]["pages"] == 6 and meta["pages"] == 22 and meta["own_pages"] == 0
    assert meta["held_out"]["recall"] > 0.9 and meta["held_out"]["precision"] > 0.9


def test_your_pages_change_the_models_mind_on_your_site(base, current, tmp_path, capsys):
    own = write_lamp_pages(tmp_path / "mine", LAMP_TOPICS[:2])
    unseen = write_lamp_pages(tmp_path / "unseen", LAMP_TOPICS[2:])
    before = lamp_scores(current, unseen)
    assert before["recall"] < 0.5, "the base model already finds this appeal: the test proves nothing"

    report = tmp_path / "report.md"
    assert train(base[0], "--with", own, "--out", current, "--report", report) == 0
    out, err = capsys.readouterr()
    assert "your pages (--with)" in out and "compared with the current model" in out and "wrote" in out
    assert "too few" not in err, err
    produced_by = next(line for line in report.read_text().splitlines() if line.startswith("Produced by"))
    assert " --with " in produced_by  # the command that made the model, your pages included
    after = lamp_scores(current, unseen)
    assert after["recall"] > 0.9 and after["precision"] == 1.0, after
    meta = load_model(current).metadata
    assert meta["own_pages"] == 2 and meta["own_weight"] == 10.0 and meta["held_out"]["precision"] > 0.9
    assert meta["metrics"]["by_part"]["your pages (--with)"]["pages"] == 2


def test_training_on_a_few_sites_alone_says_what_it_gives_up(tmp_path, capsys):
    """Nothing held out, thresholds chosen on a dozen pages: the model is written, with a warning that
    points to training on the corpus with --with."""
    corpus = write_corpus(tmp_path / "mine", SITES)
    assert train(corpus, "--out", tmp_path / "m.skops") == 0
    out, err = capsys.readouterr()
    assert "warning: the pages come from 4 sites, too few" in err and "--with" in err, err
    assert "wrote" in out


def test_a_page_given_twice_is_trained_once(tmp_path, capsys):
    """The same page in two places (a correction unzipped twice, a page saved into two folders) counted
    twice; the copy is named and left out."""
    corpus = write_corpus(tmp_path / "corpus", {**SITES, **MORE_SITES}, per_site=1)
    mine = tmp_path / "mine"
    write_lamp_pages(mine, LAMP_TOPICS[:1])
    (mine / "zz").mkdir()  # read after the pages they copy
    (mine / "zz" / "lamp-0.html").write_bytes((mine / "lamp-0.html").read_bytes())
    (corpus / "zz-harbour.html").write_bytes((corpus / "harbour-0.html").read_bytes())
    assert train(corpus, "--with", mine, "--out", tmp_path / "m.skops") == 0
    err = capsys.readouterr().err
    assert f"skipped {corpus / 'zz-harbour.html'}: the same page as {corpus / 'harbour-0.html'}" in err
    assert f"skipped {mine / 'zz' / 'lamp-0.html'}: the same page as {mine / 'lamp-0.html'}" in err
    meta = load_model(tmp_path / "m.skops").metadata
    assert (
        meta["own_pages"] == 1
        and meta["pages"] + len(meta["held_out_sites"]) == len({**SITES, **MORE_SITES}) + 1
    )


def test_a_page_nothing_labels_is_left_out(tmp_path, capsys):
    """A page saved and never labelled (the original beside its labelled copy) was trained as a page with
    no appeal, at ten times a corpus page's weight, and could undo what its labelled copy taught."""
    corpus = write_corpus(tmp_path / "corpus", {**SITES, **MORE_SITES}, per_site=1)
    mine = tmp_path / "mine"
    write_lamp_pages(mine, LAMP_TOPICS[:1])
    labelled = (mine / "lamp-0.html").read_text(encoding="utf-8")
    assert "data-hush-label" in labelled
    (mine / "original.html").write_text(labelled.replace('data-hush-label="appeal"', ""), encoding="utf-8")
    assert train(corpus, "--with", mine, "--out", tmp_path / "m.skops") == 0
    err = capsys.readouterr().err
    assert f"skipped {mine / 'original.html'}: nothing on it says what it holds" in err, err
    assert load_model(tmp_path / "m.skops").metadata["own_pages"] == 1
    assert train(corpus, "--with", mine, "--out", tmp_path / "n.skops", "--strict") == 2


def write_poison(folder: Path) -> Path:
    """Pages like the held-out sites' own with every paragraph (story, related box, footer) labelled as
    appeal: a model that learns this hides content there."""
    folder.mkdir()
    for k, (place, topic, _) in enumerate(MORE_SITES.values()):
        html = page(place, topic, "", 2).replace("<p>", '<p data-hush-label="appeal">')
        (folder / f"wrong-{k}.html").write_text(html, encoding="utf-8")
        (folder / f"wrong-{k}.json").write_text(json.dumps({"site": f"{place}ton.example"}), encoding="utf-8")
    return folder


def test_a_model_worse_on_held_out_pages_is_refused_unless_forced(base, current, tmp_path, capsys):
    poison = write_poison(tmp_path / "poison")
    before = current.read_bytes()

    report = tmp_path / "report.md"
    assert train(base[0], "--with", poison, "--weight", "50", "--out", current, "--report", report) == 1
    out = capsys.readouterr().out
    assert "not replaced" in out and "held-out precision change" in out, out
    assert current.read_bytes() == before
    candidate = current.with_name("hush-model.candidate.skops")
    assert load_model(candidate).metadata["own_pages"] == len(MORE_SITES)
    # The report describes the candidate: it was not written at all.
    assert "the report describes it" in out and load_model(candidate).version in report.read_text()

    assert train(base[0], "--with", poison, "--weight", "50", "--out", current, "--force") == 0
    assert current.read_bytes() != before and "wrote" in capsys.readouterr().out


def test_a_model_written_there_meanwhile_is_not_replaced(base, current, tmp_path, capsys, monkeypatch):
    """Two runs on one --out: the second compared with the model there when it began, then replaced the
    one the first run wrote meanwhile, unseen."""
    import server.cli_train

    meanwhile = b"the model another run wrote"
    trained = server.cli_train._trained

    def then_another_run_writes(*args, **kwargs):
        result = trained(*args, **kwargs)
        current.write_bytes(meanwhile)
        return result

    monkeypatch.setattr(server.cli_train, "_trained", then_another_run_writes)
    assert train(base[0], "--out", current, "--force") == 1
    out = capsys.readouterr().out
    assert f"not replaced: {current} changed while this run trained" in out, out
    assert current.read_bytes() == meanwhile
    assert load_model(current.with_name("hush-model.candidate.skops")).metadata["pages"] > 0


def sloppy_copy(corpus: Path, folder: Path) -> Path:
    """The corpus with every related-stories box outside the held-out sites labelled as an appeal: a model
    trained on it hides those boxes, content, on the held-out pages."""
    folder.mkdir()
    for path in corpus.iterdir():
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".html" and not is_held_out(
            json.loads(path.with_suffix(".json").read_text())["site"]
        ):
            text = text.replace(
                '<section class="related">', '<section class="related" data-hush-label="appeal">'
            )
        (folder / path.name).write_text(text, encoding="utf-8")
    return folder


def test_a_new_file_is_judged_by_what_your_pages_change_when_the_current_model_had_other_folders(
    base, current, tmp_path, monkeypatch, capsys
):
    """With no file at --out, the current model is the shipped one. When it trained on folders this run
    lacks (the shipped model's real pages), the drop is judged against the same training without the
    user's pages: harmless pages are written, poisonous ones still go aside."""
    monkeypatch.setattr(
        model.predict, "SHIPPED_MODEL", current
    )  # trained on base[0], a folder not used below
    sloppy = sloppy_copy(base[0], tmp_path / "sloppy")
    own = write_lamp_pages(tmp_path / "mine", LAMP_TOPICS[:2])
    out = tmp_path / "mine.skops"

    assert train(sloppy, "--with", own, "--out", out) == 0
    printed = capsys.readouterr().out
    assert f"also trained on {os.path.relpath(base[0])}" in printed, printed
    held = next(line for line in printed.splitlines() if line.strip().startswith("held-out "))
    current_p, new_p = float(held.split()[2]), float(held.split()[4])
    assert current_p - new_p > MAX_PRECISION_DROP, "the current model is not ahead: the test proves nothing"
    assert "the same training without your pages" in printed and "change from your pages" in printed
    assert load_model(out).metadata["own_pages"] == 2

    poison = write_poison(tmp_path / "poison")
    other = tmp_path / "poisoned.skops"
    assert train(sloppy, "--with", poison, "--weight", "50", "--out", other) == 1
    assert "not replaced: your pages would lower held-out precision" in capsys.readouterr().out
    assert not other.exists() and other.with_name("poisoned.candidate.skops").exists()


def test_replacing_a_model_that_trained_on_other_folders_says_so(base, current, tmp_path, capsys):
    """--out naming the shipped model, say, trained on real pages a run from the repository lacks: it was
    replaced after the usual comparison, with nothing said of what the new model never learnt from."""
    other = sloppy_copy(base[0], tmp_path / "other")
    assert train(other, "--out", current, "--force") == 0
    printed = capsys.readouterr().out
    assert f"note: the model at {current} also trained on {os.path.relpath(base[0])}" in printed, printed


def test_not_an_appeal_corrections_alone_are_pages_to_train_on(base, tmp_path, capsys):
    """The extension's "not an appeal" page labels nothing (all of it is content); a folder of them is
    a folder of labelled pages, not a folder of raw ones."""
    mine = tmp_path / "corrections"
    mine.mkdir()
    html = page("Alderton", "ferry timetable", "Support us", 0).replace(' data-hush-label="appeal"', "")
    head = '<head><meta name="hush-correction" content="not-appeal:7"></head>'
    (mine / "correction.html").write_text(
        html.replace("<head>", head, 1) if "<head>" in html else head + html
    )
    assert train(base[0], "--with", mine, "--out", tmp_path / "m.skops", "--force") == 0, capsys.readouterr()
    assert load_model(tmp_path / "m.skops").metadata["own_pages"] == 1


def test_a_current_model_that_cannot_be_read_needs_force(base, tmp_path, capsys):
    broken = tmp_path / "broken.skops"
    broken.write_bytes(b"not a model")
    assert train(base[0], "--out", broken) == 2
    assert "--force" in capsys.readouterr().err and broken.read_bytes() == b"not a model"


def test_force_never_replaces_a_file_that_is_no_model(base, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    assert train(base[0], "--out", notes, "--force") == 2
    assert "is not a model file" in capsys.readouterr().err and notes.read_text() == "my notes"


def test_bad_weights_are_refused(base, tmp_path, capsys):
    assert train(base[0], "--weight", "0", "--out", tmp_path / "m.skops") == 2
    assert "--weight" in capsys.readouterr().err and not (tmp_path / "m.skops").exists()


def test_bad_job_counts_are_refused(base, tmp_path, capsys):
    assert train(base[0], "--jobs", "0", "--out", tmp_path / "m.skops") == 2
    assert "--jobs" in capsys.readouterr().err and not (tmp_path / "m.skops").exists()


def test_worker_processes_fit_the_same_model(base, tmp_path, monkeypatch):
    """Models fitted in worker processes are bit for bit those fitted one after another."""
    monkeypatch.setattr(model.train, "PARALLEL_MIN_ROWS", 0)  # the small corpus goes parallel too
    one, two = tmp_path / "one.skops", tmp_path / "two.skops"
    assert train(base[0], "--jobs", "1", "--out", one) == 0
    assert train(base[0], "--jobs", "2", "--out", two) == 0
    assert load_model(one).version == load_model(two).version  # a digest of every fitted number


def held_comparison(current: float, new: float, recall: float = 0.5) -> Comparison:
    part = {"pages": 3, "precision": current, "recall": 0.5}
    return Comparison(
        "a", "b", {"held-out": {"current": part, "new": {**part, "precision": new, "recall": recall}}}
    )


def test_the_allowed_drop_is_one_point_of_precision():
    assert held_comparison(0.95, 0.94).acceptable and held_comparison(0.95, 0.99).acceptable
    assert not held_comparison(0.95, 0.939).acceptable
    assert Comparison("a", "b").acceptable and Comparison("a", "b").precision_drop is None


def test_a_fall_in_held_out_recall_is_reported_and_refuses_nothing():
    fallen = held_comparison(0.95, 0.95, recall=0.44)
    lines = comparison_lines(fallen, "m.skops")
    assert fallen.acceptable and fallen.recall_drop == 0.06
    assert any("warning: held-out recall falls by 0.060" in line for line in lines), lines
    for recall in (0.45, 0.9):
        steady = held_comparison(0.95, 0.95, recall=recall)
        assert not any("warning" in line for line in comparison_lines(steady, "m.skops"))


def test_scores_that_say_nothing_are_printed_as_a_dash():
    """Your pages holding no appeal (the no-appeal notes of pages where the model hid content) read
    "recall 1.000", and a model that hid nothing "precision 1.000": both are 1 by convention alone."""
    quiet = {"pages": 2, "precision": 1.0, "recall": 1.0, "appeal_chars": 0, "hidden_chars": 0}
    quiet["pages_with_content_hidden"] = 0
    hiding = {**quiet, "precision": 0.0, "hidden_chars": 40}
    comparison = Comparison("a", "b", {"your pages": {"current": hiding, "new": quiet}})
    row = next(line for line in comparison_lines(comparison, "m.skops") if "your pages" in line)
    assert row.split()[-4:] == ["0.000", "–", "–", "–"], row
    cv = cv_lines({"overall": {"pages": 2}, "by_part": {"your pages": quiet}})
    assert "precision     –  recall     –" in cv[1], cv


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_two_lines_per_step_in_a_file():
    for stream in (Terminal(), io.StringIO()):
        bar = ProgressBar(stream)
        for k in range(5):
            bar("reading pages", k + 1, 5)
        bar("fitting", 1, 1)
        bar.finish()
        text = stream.getvalue()
        if isinstance(stream, Terminal):
            assert "\r  reading pages [" + "#" * 24 + "] 5/5" in text and text.count("\n") == 2
        else:
            assert text.splitlines()[0] == "  reading pages [0/5]" and len(text.splitlines()) == 4


def test_exported_corrections_are_grouped_by_the_site_they_came_from(tmp_path):
    head = '<head><meta name="hush-source" content="https://News.example:8443/a?b=1"></head>'
    for k in range(2):
        body = f'<body><p>Story {k}.</p><p data-hush-label="appeal">Give a little.</p></body>'
        (tmp_path / f"correction-{k}.html").write_text(f"<html>{head}{body}</html>", encoding="utf-8")
    (tmp_path / "saved.html").write_text("<p data-hush-label='appeal'>Give.</p>", encoding="utf-8")
    pages, _ = load_pages([tmp_path])
    assert [p.site for p in pages] == ["news.example", "news.example", "saved"]


def test_the_report_can_score_models_trained_on_half_the_sites(base, tmp_path):
    report = tmp_path / "EVALUATION.md"
    assert train(base[0], "--out", tmp_path / "m.skops", "--report", report, "--halvings", "1") == 0
    text = report.read_text()
    assert "--halvings 1" in text
    section = text.split("\n## Trained without the scored sites\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| all pages |")]
    assert len(rows) == 1 and int(rows[0].split("|")[2]) == 22  # every page not held out, scored once


def test_the_halvings_train_and_score_your_pages_too(base, tmp_path):
    own = write_lamp_pages(tmp_path / "mine", LAMP_TOPICS[:2])
    report = tmp_path / "EVALUATION.md"
    args = ("--with", own, "--out", tmp_path / "m.skops", "--report", report, "--halvings", "1")
    assert train(base[0], *args) == 0
    section = report.read_text().split("\n## Trained without the scored sites\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| all pages |")]
    assert len(rows) == 1 and int(rows[0].split("|")[2]) == 24  # the 22 pages not held out and yours
