"""The evaluation report's table of what limits the bars: real pages only, the largest losses first."""

from model.metrics import CharCounts, summary
from model.report import Peer, markdown

PAGES = {
    "real/a.html": CharCounts(appeal=100, content=1000, hidden_appeal=40, hidden_content=0),
    "real/b.html": CharCounts(appeal=300, content=2000, hidden_appeal=300, hidden_content=30),
    "real/c.html": CharCounts(appeal=50, content=500, hidden_appeal=0, hidden_content=10),
    "real/d.html": CharCounts(appeal=0, content=800, hidden_appeal=0, hidden_content=0),
    "corpus/e.html": CharCounts(appeal=500, content=900, hidden_appeal=0, hidden_content=400),
}
INFO = {
    name: {
        "origin": "real" if name.startswith("real") else "handwritten",
        "kind": "donation",
        "forms": "box",
        "lang": "en",
    }
    for name in PAGES
}
METADATA = {
    "version": "hush-test",
    "threshold": {"block": 0.9, "box": 0.9},
    "sklearn_version": "x",
    "pages": len(PAGES),
    "folders": ["real", "corpus"],
}


def _report() -> dict:
    real = {k: v for k, v in PAGES.items() if k.startswith("real")}
    return {"overall": summary(PAGES), "by_origin": {"real": summary(real)}, "by_label": {}}


def _body(text: str, title: str) -> str:
    """The text of the report's section ``title``, up to the next section."""
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def _section(text: str, start: str) -> list[str]:
    lines = _body(text, "What limits the bars (real pages)").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(start))
    rows = []
    for line in lines[at + 4 :]:
        if not line.startswith("| "):
            break
        rows.append(line)
    return [lines[at], *rows]


def test_the_pages_that_limit_recall_and_precision_are_named_with_their_share():
    text = markdown(_report(), PAGES, METADATA, "hush train real corpus", INFO)
    recall = _section(text, "Recall:")
    assert recall[0].startswith("Recall: 110 appeal characters of real pages are not hidden; these 2 pages")
    assert [row.split(" | ")[0] for row in recall[1:]] == ["| a.html", "| c.html"]  # 60 missed, then 50
    assert recall[1].endswith("| 54.5% |")
    precision = _section(text, "Precision:")
    assert precision[0].startswith("Precision: 40 content characters of real pages are hidden; these 2")
    assert [row.split(" | ")[0] for row in precision[1:]] == ["| b.html", "| c.html"]
    assert "e.html | donation" not in text.split("## Per page")[0]  # not a real page: not in these tables


def test_no_limits_section_without_page_information():
    text = markdown(_report(), PAGES, METADATA, "hush train real corpus")
    assert "What limits the bars" not in text


def test_the_filter_lists_stand_beside_the_model_origin_by_origin():
    peer_pages = {name: CharCounts(c.appeal, c.content) for name, c in PAGES.items()}
    peer_pages["real/b.html"] = CharCounts(appeal=300, content=2000, hidden_appeal=150, hidden_content=0)
    origins = {name: info["origin"] for name, info in INFO.items()}
    peer = Peer("rules.txt: 3 hiding rules", peer_pages, origin=origins)
    text = markdown(_report(), PAGES, METADATA, "hush train real corpus", INFO, peer)
    section = _body(text, "Against the filter lists")
    rows = [line for line in section.splitlines() if line.startswith("| real |")]
    # The model's cross-validated row, then the rules': 150 of the 450 real appeal characters, no content.
    assert rows[0].startswith("| real | Hush (cross-validated) | 4 | 0.895 | 0.756 |")
    assert rows[1].startswith("| real | filter lists | 4 | 1.000 | 0.333 |")
    assert "Rules read from rules.txt: 3 hiding rules." in section
    assert "hide something on 1 of 5 pages:\n- b.html: 150 of 300 appeal characters, 0 content" in section


def _rows(text: str, title: str) -> dict[str, str]:
    section = _body(text, title)
    return {
        line.split(" | ")[0][2:]: line.split(" | ")[1]
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| group")
    }


def test_language_kind_and_form_are_reported_apart_for_real_and_hand_written_pages():
    info = {name: dict(i) for name, i in INFO.items()}
    info["real/b.html"]["forms"] = "box, nav"  # counted under each of its forms
    info["real/c.html"]["lang"] = "de"
    info["real/d.html"]["kind"] = ""  # a page whose kind nobody gave
    text = markdown(_report(), PAGES, METADATA, "hush train real corpus", info)
    assert _rows(text, "Language, by origin") == {"handwritten · en": "1", "real · de": "1", "real · en": "3"}
    assert _rows(text, "Form of appeal, by origin") == {
        "handwritten · box": "1",
        "real · box": "4",
        "real · nav": "1",
    }
    assert _rows(text, "Kind of appeal (first one on the page), by origin") == {
        "handwritten · donation": "1",
        "real · donation": "3",
        "real · unstated": "1",
    }
    assert "\n## Language\n" not in text


def test_one_origin_keeps_the_groups_whole():
    real = {name: c for name, c in PAGES.items() if name.startswith("real")}
    report = {**_report(), "by_lang": {"en": summary(real)}}
    text = markdown(report, real, METADATA, "hush train real", {n: INFO[n] for n in real})
    assert _rows(text, "Language") == {"en": "4"}
    assert "by origin" not in text


def test_scores_at_thresholds_chosen_without_the_scored_sites_stand_by_origin():
    unseen = {
        "real/a.html#0": CharCounts(appeal=100, content=1000, hidden_appeal=50, hidden_content=50),
        "real/a.html#1": CharCounts(appeal=100, content=1000, hidden_appeal=100, hidden_content=0),
        "corpus/e.html#0": CharCounts(appeal=500, content=900, hidden_appeal=500, hidden_content=0),
    }
    text = markdown(_report(), PAGES, METADATA, "hush train real corpus", INFO, unseen=unseen)
    rows = _rows(text, "Thresholds chosen without the scored sites")
    assert rows == {"all pages": "3", "handwritten": "1", "real": "2"}
    section = _body(text, "Thresholds chosen without the scored sites")
    assert "| real | 2 | 0.750 | 0.750 |" in section  # 150 of 200 appeal characters, 50 content
    assert "halved 2 times" in section
    bars = _body(text, "Bars")
    assert (
        "| precision on real pages, thresholds chosen without their sites | ≥ 0.95 | 0.750 | no, by 0.200 |"
        in bars
    )
    assert "Thresholds chosen without" not in markdown(_report(), PAGES, METADATA, "hush train", INFO)


def test_models_trained_without_the_scored_sites_have_their_own_section_and_bars():
    halves = {
        "real/a.html#0": CharCounts(appeal=100, content=1000, hidden_appeal=60, hidden_content=20),
        "real/a.html#1": CharCounts(appeal=100, content=1000, hidden_appeal=20, hidden_content=0),
        "real/a.html#2": CharCounts(appeal=100, content=1000, hidden_appeal=0, hidden_content=0),
        "corpus/e.html#0": CharCounts(appeal=500, content=900, hidden_appeal=500, hidden_content=0),
    }
    text = markdown(_report(), PAGES, METADATA, "hush train real corpus", INFO, halves=halves)
    rows = _rows(text, "Trained without the scored sites")
    assert rows == {"all pages": "4", "handwritten": "1", "real": "3"}
    section = _body(text, "Trained without the scored sites")
    assert "| real | 3 | 0.800 | 0.267 |" in section  # 80 of 300 appeal characters, 20 content
    assert "halved 3 times" in section
    bars = _body(text, "Bars")
    assert "| recall on real pages, trained without their sites | ≥ 0.9 | 0.267 | no, by 0.633 |" in bars
    assert "Trained without" not in markdown(_report(), PAGES, METADATA, "hush train", INFO)
