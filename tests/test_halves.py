"""Training run whole on half the sites and scored on the other half (model.halves), with a stand-in for
training so that what each model learnt from is known."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from model import halves
from model.heldout import is_held_out
from model.thresholds import half_of
from model.train import TrainingError

SITES = [f"site{n}.example" for n in range(16)]


def _pages(sites: list[str] = SITES, folder: str = "") -> list[SimpleNamespace]:
    return [
        SimpleNamespace(
            path=f"{folder}{site}/{i}.html",
            site=site,
            page=site,  # what the stand-in model is shown: the page's site
            appeal_chars=np.array([10, 0]),
            content_chars=np.array([0, 10]),
        )
        for site in sites
        for i in range(2)
    ]


MINE = [f"mine{n}.example" for n in range(4)]  # the user's own pages (--with): never held out


def test_each_page_is_scored_once_a_halving_by_a_model_that_never_saw_its_site(monkeypatch):
    trained_on: list[set[str]] = []

    def fake_train(pages, folders, workers=1, own=(), own_folders=None, own_weight=10.0):
        assert own_weight == 3.0 and own_folders == ["mine"]
        sites = {p.site for p in [*pages, *own]}
        trained_on.append(sites)

        def score_page(site):
            assert site not in sites, "scored by a model trained on its own site"
            return SimpleNamespace(appeal=np.array([True, False]))

        return SimpleNamespace(model=SimpleNamespace(score_page=score_page))

    monkeypatch.setattr(halves, "train", fake_train)
    own = _pages(MINE, "mine/")
    counts = halves.whole_runs(_pages(), ["corpus"], 2, own=own, own_folders=["mine"], own_weight=3.0)
    kept = [s for s in SITES if not is_held_out(s)]
    assert len(kept) < len(SITES), "no site of these is held out: the test proves less"
    assert len(trained_on) == 4 and all(sites <= {*kept, *MINE} for sites in trained_on)
    expected = [f"{s}/{i}.html#{h}" for s in kept for i in range(2) for h in range(2)]
    expected += [f"mine/{s}/{i}.html#{h}" for s in MINE for i in range(2) for h in range(2)]
    assert sorted(counts) == sorted(expected)
    assert all(c.hidden_appeal == 10 and c.hidden_content == 0 for c in counts.values())
    for split in range(2):
        for side in (0, 1):
            assert {s for s in [*kept, *MINE] if half_of(s, split) == side} in trained_on


def test_a_half_that_cannot_be_trained_on_scores_nothing(monkeypatch):
    def fake_train(pages, folders, workers=1, **own):
        if any(half_of(p.site, 0) == 0 for p in pages):
            raise TrainingError("no appeal")
        hide_all = SimpleNamespace(appeal=np.ones(2, dtype=bool))
        return SimpleNamespace(model=SimpleNamespace(score_page=lambda _: hide_all))

    monkeypatch.setattr(halves, "train", fake_train)
    counts = halves.whole_runs(_pages(), ["corpus"], 1)
    scored = {key.rpartition("/")[0] for key in counts}
    assert scored and all(half_of(s, 0) == 0 for s in scored)  # only the half scored by the other's model
