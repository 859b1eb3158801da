"""Training: labelled pages → block model → box model (stacked on out-of-fold block scores) → thresholds.

The steps, in order:
1. read and segment the labelled pages; a block is appeal when most of its labelled text is;
2. cross-validate the block model with folds grouped by site, keeping its out-of-fold scores;
3. describe every candidate box by those scores and its own text and markup, and cross-validate the
   box model the same way;
4. pick the block and box thresholds on the out-of-fold scores for high precision;
5. fit both models on everything and record the metadata.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sklearn
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline

from model import boxes
from model import features as F
from model.labelled import LabelledPage, corpus_digest
from model.metrics import CharCounts, block_counts, summary
from model.pipeline import block_pipeline, box_pipeline
from model.predict import HushModel

TARGET_PRECISION = 0.97
APPEAL_BOX_SHARE = 0.97  # an element box is appeal when this share of its labelled text is
MAX_FOLDS = 5
GRID = np.round(np.concatenate([np.arange(0.3, 0.95, 0.05), [0.95, 0.97, 0.98, 0.99, 0.995]]), 3)
DEFAULT_THRESHOLD = {"block": 0.8, "box": 0.8}

Progress = Callable[[str], None]


class TrainingError(Exception):
    """The pages cannot train a model (no labelled pages, no appeal)."""


@dataclass
class Dataset:
    pages: list[LabelledPage]
    rows: list[np.ndarray]  # block rows per page
    weights: list[float]  # per page: each block's sample weight


def block_targets(p: LabelledPage) -> tuple[np.ndarray, np.ndarray]:
    """Per block: is it appeal, and is it usable for training (not mostly 'other')."""
    chars = p.appeal_chars + p.other_chars + p.content_chars
    usable = p.other_chars * 2 < chars
    return p.appeal_chars * 2 > chars, usable


def box_targets(p: LabelledPage, spans: list[boxes.Span]) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate span: is (nearly) all its labelled text appeal, and does it hold labelled text."""
    y = np.zeros(len(spans), dtype=bool)
    usable = np.zeros(len(spans), dtype=bool)
    for r, span in enumerate(spans):
        a, k = p.appeal_chars[span.b0 : span.b1].sum(), p.content_chars[span.b0 : span.b1].sum()
        usable[r] = a + k > 0
        # A window of sibling paragraphs has no wrapper to excuse stray text: it must be all appeal.
        y[r] = a > 0 and (k == 0 if span.window else a >= APPEAL_BOX_SHARE * (a + k))
    return y, usable


def build_dataset(pages: list[LabelledPage]) -> Dataset:
    rows = [F.block_rows(p.page) for p in pages]
    weights = [1.0 / np.sqrt(max(1, len(p.page.blocks))) for p in pages]
    return Dataset(pages, rows, weights)


def _fit_blocks(data: Dataset, idx: list[int]) -> Pipeline:
    X, y, w = [], [], []
    for i in idx:
        target, usable = block_targets(data.pages[i])
        X.append(data.rows[i][usable])
        y.append(target[usable])
        w.append(np.full(int(usable.sum()), data.weights[i]))
    model = block_pipeline()
    model.fit(np.concatenate(X), np.concatenate(y), classify__sample_weight=np.concatenate(w))
    return model


def _fit_boxes(data: Dataset, stage: BoxStage, idx: list[int]) -> Pipeline | None:
    X, y = [], []
    for i in idx:
        target, usable = box_targets(data.pages[i], stage.spans[i])
        X.append(stage.rows[i][usable])
        y.append(target[usable])
    if not X or len(set(np.concatenate(y).tolist())) < 2:
        return None
    model = box_pipeline()
    model.fit(np.concatenate(X), np.concatenate(y))
    return model


@dataclass
class BoxStage:
    spans: list[list[boxes.Span]]  # per page
    rows: list[np.ndarray]  # per page


def box_stage(data: Dataset, block_scores: list[np.ndarray]) -> BoxStage:
    spans = [boxes.candidates(p.page, s) for p, s in zip(data.pages, block_scores, strict=True)]
    rows = [boxes.rows(p.page, c, s) for p, c, s in zip(data.pages, spans, block_scores, strict=True)]
    return BoxStage(spans, rows)


def _predict(model: Pipeline | None, rows: np.ndarray) -> np.ndarray:
    if model is None or len(rows) == 0:
        return np.zeros(len(rows))
    return model.predict_proba(rows)[:, 1]


def cross_validate(data: Dataset, progress: Progress) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
    """Out-of-fold block and box scores per page, folds grouped by site; None with fewer than 2 sites."""
    groups = [p.site for p in data.pages]
    n_folds = min(MAX_FOLDS, len(set(groups)))
    if n_folds < 2:
        return None
    folds = list(GroupKFold(n_splits=n_folds).split(np.zeros(len(groups)), groups=groups))
    block_oof = [np.zeros(len(p.page.blocks)) for p in data.pages]
    for k, (train, test) in enumerate(folds, 1):
        progress(f"cross-validation: block model, fold {k}/{n_folds}")
        model = _fit_blocks(data, list(train))
        for i in test:
            block_oof[i] = _predict(model, data.rows[i])
    stage = box_stage(data, block_oof)
    box_oof = [np.zeros(len(p.page.blocks)) for p in data.pages]
    for k, (train, test) in enumerate(folds, 1):
        progress(f"cross-validation: box model, fold {k}/{n_folds}")
        model = _fit_boxes(data, stage, list(train))
        for i in test:
            box_oof[i] = boxes.spread(
                len(data.pages[i].page.blocks), stage.spans[i], _predict(model, stage.rows[i])
            )
    return block_oof, box_oof


def choose_thresholds(data: Dataset, block_oof: list[np.ndarray], box_oof: list[np.ndarray]) -> dict:
    """The pair of thresholds with the best recall at TARGET_PRECISION (best F0.5 if none reaches it)."""
    a = np.concatenate([p.appeal_chars for p in data.pages]).astype(float)
    k = np.concatenate([p.content_chars for p in data.pages]).astype(float)
    s, x = np.concatenate(block_oof), np.concatenate(box_oof)
    best, best_key = dict(DEFAULT_THRESHOLD), (-1.0, -1.0)
    for tb in GRID:
        for tx in [*GRID, 1.01]:
            hidden = (s >= tb) | (x >= tx)
            ha, hk = a[hidden].sum(), k[hidden].sum()
            p = ha / (ha + hk) if ha + hk else 1.0
            r = ha / a.sum() if a.sum() else 0.0
            f05 = 1.25 * p * r / (0.25 * p + r) if p + r else 0.0
            key = (1.0, r) if p >= TARGET_PRECISION else (0.0, f05)
            if key > best_key:
                best, best_key = {"block": float(tb), "box": float(tx)}, key
    return best


def cv_report(data: Dataset, block_oof: list[np.ndarray], box_oof: list[np.ndarray], threshold: dict) -> dict:
    """Cross-validated character scores overall, by source folder, language and page label."""
    per_page: dict[str, CharCounts] = {}
    by: dict[str, dict[str, dict[str, CharCounts]]] = {"source": {}, "lang": {}, "label": {}}
    for p, s, x in zip(data.pages, block_oof, box_oof, strict=True):
        counts = block_counts(
            p.appeal_chars, p.content_chars, (s >= threshold["block"]) | (x >= threshold["box"])
        )
        name = str(p.path)
        per_page[name] = counts
        keys = {
            "source": p.source,
            "lang": str(p.meta.get("lang", "?")),
            "label": str(p.meta.get("label", "?")),
        }
        for kind, key in keys.items():
            by[kind].setdefault(key, {})[name] = counts
    report = {"overall": summary(per_page)}
    for kind, groups in by.items():
        report[f"by_{kind}"] = {key: summary(pages) for key, pages in sorted(groups.items())}
    return report


def train(
    pages: list[LabelledPage], folders: list[str], progress: Progress | None = None
) -> tuple[HushModel, dict]:
    """Train both models on labelled pages; returns the model and its cross-validated report."""
    say = progress or (lambda msg: print(msg, file=sys.stderr))
    if not pages:
        raise TrainingError("no labelled pages found (HTML files marked with data-hush-label)")
    if not any(p.has_appeal for p in pages):
        raise TrainingError('the pages hold no appeal at all (no data-hush-label="appeal"): nothing to learn')
    started = time.perf_counter()
    say(f"segmenting {len(pages)} pages")
    data = build_dataset(pages)
    oof = cross_validate(data, say)
    if oof is not None:
        threshold = choose_thresholds(data, *oof)
        report = cv_report(data, *oof, threshold)
    else:
        say("fewer than two sites: no cross-validation, default thresholds")
        threshold, report = dict(DEFAULT_THRESHOLD), {}
    say("fitting the block model on all pages")
    everything = list(range(len(pages)))
    block_model = _fit_blocks(data, everything)
    box_scores = oof[0] if oof is not None else [_predict(block_model, r) for r in data.rows]
    say("fitting the box model on all pages")
    box_model = _fit_boxes(data, box_stage(data, box_scores), everything)
    if box_model is None:
        raise TrainingError("the pages hold no appeal box with more than one block: add more labelled pages")
    digest = corpus_digest(pages)
    metadata = {
        "version": f"hush-{datetime.now(UTC):%Y%m%d}-{_params_digest(block_model, box_model, digest)[:8]}",
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "corpus_digest": digest,
        "folders": folders,
        "pages": len(pages),
        "sklearn_version": sklearn.__version__,
        "threshold": threshold,
        "metrics": report,
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    return HushModel(block_model, box_model, metadata), report


def _params_digest(block_model: Pipeline, box_model: Pipeline, corpus: str) -> str:
    h = hashlib.sha256(corpus.encode())
    for array in fitted_arrays(block_model) + fitted_arrays(box_model):
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def fitted_arrays(pipeline: Pipeline) -> list[np.ndarray]:
    """The learnt numbers of a pipeline: scaler statistics, linear weights, tree nodes."""
    arrays: list[np.ndarray] = []
    for _, transformer, _ in pipeline.named_steps["columns"].transformers_:
        if hasattr(transformer, "mean_"):
            arrays += [transformer.mean_, transformer.scale_]
    clf = pipeline.named_steps["classify"]
    if hasattr(clf, "coef_"):
        arrays += [clf.coef_, clf.intercept_]
    for trees in getattr(clf, "_predictors", []):
        arrays += [tree.nodes for tree in trees]
    return arrays


def relative_folders(folders: list[Path]) -> list[str]:
    """Folder names as recorded in the metadata: relative to the working directory when inside it."""
    out = []
    for f in folders:
        try:
            out.append(str(f.resolve().relative_to(Path.cwd())))
        except ValueError:
            out.append(str(f))
    return out
