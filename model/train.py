"""Training: labelled pages → block model → box model and sequence model (stacked on out-of-fold scores)
→ thresholds.

The steps, in order:
0. set aside the held-out sites of the training folders (:mod:`model.heldout`); the user's own pages
   (``hush train --with``) all take part and weigh ``own_weight`` times as much as a page of the folders;
1. segment the labelled pages; a block is appeal when most of its labelled text is;
2. cross-validate the block model with folds grouped by site, keeping its out-of-fold scores (the folds,
   on every page's text hashed once, and the block model on all pages are fitted together, in worker
   processes on a large corpus: :func:`block_stage`);
3. describe every candidate span (element boxes, windows of siblings) by those scores and its own text,
   markup and links, and cross-validate the box model the same way (its fold models and the one on all
   pages, fitted together on those out-of-fold block scores);
4. read each block's and its neighbours' out-of-fold block and box scores (:mod:`model.sequence`) and
   cross-validate the sequence model the same way;
5. pick the block, box and sequence thresholds and the box gate on the out-of-fold scores for high
   precision (a block is hidden when any of its three scores passes its threshold, a box counting only
   when one of its blocks passes the gate), then whether runs of blocks the block model leans towards
   are hidden and the neighbour threshold (a block next to a hidden one is hidden too when its sequence
   score passes it), on the real pages and the hard negatives when there are enough real pages
   (:mod:`model.thresholds`);
6. score the held-out pages and record the metadata.

The rows, targets and weights trained on, and the out-of-fold scores, are in :mod:`model.training_data`;
the cross-validated report's groups in :mod:`model.cv_summary`.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sklearn
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from model import block_folds, boxes, heldout, sequence
from model import features as F
from model.compare import page_counts
from model.cv_summary import cv_report, page_info, ranking_by_origin
from model.labelled import LabelledPage, corpus_digest, origin
from model.metrics import CharCounts, summary
from model.pipeline import block_pipeline, box_pipeline, sequence_pipeline
from model.predict import HushModel
from model.thresholds import DEFAULT_THRESHOLD, choose_thresholds, threshold_weights, unseen_sites
from model.training_data import (
    BoxStage,
    Dataset,
    OutOfFold,
    Progress,
    Samples,
    block_samples,
    block_targets,
    box_samples,
    build_dataset,
)

MAX_FOLDS = 5
OWN_WEIGHT = 10.0  # one of the user's pages counts as much as this many pages of the training folders
# Below this many rows (blocks, or candidate spans), starting worker processes costs more than it saves.
PARALLEL_MIN_ROWS = 20_000


class TrainingError(Exception):
    """The pages cannot train a model (no labelled pages, no appeal)."""


def _fit(model: Pipeline, samples: list[Samples], idx: list[int]) -> Pipeline:
    X, y, w = (np.concatenate([samples[i][k] for i in idx]) for k in range(3))
    try:
        model.fit(X, y, classify__sample_weight=w)
    except ValueError as err:  # e.g. a column with no value at all: no box among the pages has a link
        raise TrainingError(
            f"the labelled pages are too few or too alike to fit a model ({err}): add more"
        ) from None
    return model


def fit_blocks(samples: list[Samples], idx: list[int]) -> Pipeline:
    """Fit the block model on the usable blocks of some pages."""
    return _fit(block_pipeline(), samples, idx)


def fit_sequence(samples: list[Samples], idx: list[int]) -> Pipeline:
    """Fit the sequence model on the usable blocks of some pages."""
    return _fit(sequence_pipeline(), samples, idx)


def fit_boxes(samples: list[Samples], idx: list[int]) -> Pipeline | None:
    """Fit the box model on the usable spans of some pages (None when they hold only one class)."""
    if len({bool(v) for i in idx for v in samples[i][1]}) < 2:
        return None
    return _fit(box_pipeline(), samples, idx)


Fit = Callable[[list[Samples], list[int]], Pipeline | None]


def fit_models(
    fit: Fit,
    samples: list[Samples],
    subsets: list[list[int]],
    progress: Progress,
    step: str,
    pool: ProcessPoolExecutor | None = None,
) -> list[Pipeline | None]:
    """``fit`` on each subset of pages: one after another, or in the worker processes of ``pool``
    (see :func:`worker_pool`). Each fit runs on one thread, so the models are the same either way."""
    if pool is None:
        models = []
        for k, idx in enumerate(subsets):
            progress(step, k, len(subsets))
            models.append(fit(samples, idx))
        progress(step, len(subsets), len(subsets))
        return models
    # The largest fits first, so that no large one is left running alone at the end. Each task carries
    # its pages' samples (pickled beside the main thread), so the workers need nothing up front.
    order = sorted(range(len(subsets)), key=lambda k: -len(subsets[k]))
    futures = {k: pool.submit(_fit_in_worker, fit, [samples[i] for i in subsets[k]]) for k in order}
    progress(step, 0, len(subsets))
    for done, _ in enumerate(as_completed(futures.values()), 1):
        progress(step, done, len(subsets))
    return [futures[k].result() for k in range(len(subsets))]


def _fit_in_worker(fit: Fit, samples: list[Samples]) -> Pipeline | None:
    with threadpool_limits(limits=1):
        return fit(samples, list(range(len(samples))))


def _started() -> None:
    """A task that does nothing: submitted once per worker, it starts the processes."""


def _worker_signals() -> None:
    """In a worker: Ctrl-C (sent to the whole process group) ends it at once, without a traceback of
    its own; the command says it was interrupted."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def worker_pool(workers: int, rows: int) -> Iterator[ProcessPoolExecutor | None]:
    """Up to ``workers`` processes for the fits when the corpus is large enough for them to pay (``rows``
    blocks at least PARALLEL_MIN_ROWS), else None. They are started afresh (no fork of a process that
    may hold threads: the calling script must guard its entry point with ``if __name__ == "__main__"``)
    and at once, so that they are ready when the first fit is. When the caller stops (Ctrl-C, SIGTERM,
    an error), the fits waiting are dropped and the running ones stopped: a pool left to wind down
    would run them all first (51 s of fitting after a SIGTERM)."""
    if workers < 2 or rows < PARALLEL_MIN_ROWS:
        yield None
        return
    workers = min(workers, MAX_FOLDS + 1)  # never more fits at once than that
    pool = ProcessPoolExecutor(workers, multiprocessing.get_context("spawn"), initializer=_worker_signals)
    try:
        for _ in range(workers):
            pool.submit(_started)
        yield pool
    except BaseException:
        processes = list((getattr(pool, "_processes", None) or {}).values())  # before shutdown drops them
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        raise
    pool.shutdown(wait=True)


def box_stage(data: Dataset, block_scores: list[np.ndarray], progress: Progress, step: str) -> BoxStage:
    spans, rows = [], []
    for i, (p, s) in enumerate(zip(data.pages, block_scores, strict=True), 1):
        spans.append(boxes.candidates(p.page, s))
        rows.append(boxes.numbers(p.page, spans[-1], s))
        progress(step, i, len(data.pages))
    return BoxStage(spans, rows)


def _predict(model: Pipeline | None, rows: np.ndarray) -> np.ndarray:
    if model is None or len(rows) == 0:
        return np.zeros(len(rows))
    return model.predict_proba(rows)[:, 1]


def _predict_each(model: Pipeline | None, rows: list[np.ndarray]) -> list[np.ndarray]:
    """``_predict`` on several pages' rows in one call (far fewer pipeline calls), split back by page."""
    if not rows:
        return []
    with threadpool_limits(limits=1):
        scores = _predict(model, np.concatenate(rows))
    return np.split(scores, np.cumsum([len(r) for r in rows])[:-1])


def out_of_fold(
    models: list[Pipeline | None],
    folds: list[tuple[list[int], list[int]]],
    rows: list[np.ndarray],
    pool: ProcessPoolExecutor | None = None,
) -> list[np.ndarray]:
    """Per page: the scores of its rows by the model of the fold that left the page out (the folds
    scored in the worker processes of ``pool`` when there is one)."""
    tests = [[rows[i] for i in test] for _, test in folds]
    if pool is None:
        scored = [_predict_each(model, pages) for model, pages in zip(models, tests, strict=True)]
    else:
        futures = [
            pool.submit(_predict_each, model, pages) for model, pages in zip(models, tests, strict=True)
        ]
        scored = [f.result() for f in futures]
    return _by_page(folds, scored, [len(r) for r in rows])


def _by_page(
    folds: list[tuple[list[int], list[int]]], scored: list[list[np.ndarray]], sizes: list[int]
) -> list[np.ndarray]:
    """Each fold's scores of its left-out pages, put back in page order (zeros for a page in no fold)."""
    out = [np.zeros(n) for n in sizes]
    for (_, test), scores in zip(folds, scored, strict=True):
        for i, page_scores in zip(test, scores, strict=True):
            out[i] = page_scores
    return out


def site_folds(data: Dataset) -> list[tuple[list[int], list[int]]]:
    """(training, test) page indices of each fold, grouped by site; none with fewer than 2 sites."""
    groups = [p.site for p in data.pages]
    n_folds = min(MAX_FOLDS, len(set(groups)))
    if n_folds < 2:
        return []
    splits = GroupKFold(n_splits=n_folds).split(np.zeros(len(groups)), groups=groups)
    return [(list(a), list(b)) for a, b in splits]


def sequence_rows(
    data: Dataset, block_scores: list[np.ndarray], box_scores: list[np.ndarray]
) -> list[np.ndarray]:
    """Per page: the sequence stage's row of every block, from the given block and box scores."""
    return [
        sequence.numbers(p.page, s, x) for p, s, x in zip(data.pages, block_scores, box_scores, strict=True)
    ]


def block_stage(
    data: Dataset,
    folds: list[tuple[list[int], list[int]]],
    progress: Progress,
    pool: ProcessPoolExecutor | None = None,
) -> tuple[Pipeline, list[np.ndarray]]:
    """The block model on all pages and the out-of-fold block scores of every page (zeros without
    folds), fitted together: in the worker processes of ``pool`` when there is one, the model on all
    pages first, while every page's text is hashed once for the folds (:mod:`model.block_folds`)."""
    step = "fitting the block model: cross-validation folds and all pages"
    samples = block_samples(data, data.rows)
    everything = list(range(len(data.pages)))
    if pool is not None:
        final = pool.submit(_fit_in_worker, fit_blocks, samples)
    pages = block_folds.hashed(data.rows) if folds else []
    usable = [block_targets(p)[1] for p in data.pages]
    tasks = []
    for train, test in folds:
        training = [
            (pages[i][0][usable[i]], pages[i][1][usable[i]], samples[i][1], samples[i][2]) for i in train
        ]
        tasks.append((training, [pages[i] for i in test]))
    progress(step, 0, len(folds) + 1)
    if pool is None:
        scored = []
        for k, task in enumerate(tasks, 1):
            scored.append(block_folds.fold_scores(*task))
            progress(step, k, len(folds) + 1)
        model = fit_blocks(samples, everything)
    else:
        futures = [pool.submit(block_folds.fold_scores, *task) for task in tasks]
        for done, _ in enumerate(as_completed([final, *futures]), 1):
            progress(step, done, len(folds) + 1)
        scored, model = [f.result() for f in futures], final.result()
    progress(step, len(folds) + 1, len(folds) + 1)
    return model, _by_page(folds, scored, [len(p.page.blocks) for p in data.pages])


def cross_validate(
    data: Dataset,
    folds: list[tuple[list[int], list[int]]],
    block_oof: list[np.ndarray],
    progress: Progress,
    pool: ProcessPoolExecutor | None = None,
) -> tuple[OutOfFold, Pipeline | None, Pipeline]:
    """Out-of-fold scores of the three stages, given the block stage's; and the box and sequence models
    fitted on all pages from the same out-of-fold scores (each fitted with its fold models, in parallel
    when that pays)."""
    stage = box_stage(data, block_oof, progress, "cross-validation: candidate boxes")
    everything = list(range(len(data.pages)))
    step = "fitting the box model: cross-validation folds and all pages"
    subsets = [train for train, _ in folds] + [everything]
    *fold_models, box_model = fit_models(fit_boxes, box_samples(data, stage), subsets, progress, step, pool)
    span_oof = out_of_fold(fold_models, folds, stage.rows, pool)
    box_oof = [
        boxes.spread(len(p.page.blocks), spans, scores)
        for p, spans, scores in zip(data.pages, stage.spans, span_oof, strict=True)
    ]
    step = "fitting the sequence model: cross-validation folds and all pages"
    rows = sequence_rows(data, block_oof, box_oof)
    samples = block_samples(data, rows)
    *fold_models, sequence_model = fit_models(fit_sequence, samples, subsets, progress, step, pool)
    sequence_oof = out_of_fold(fold_models, folds, rows, pool)
    groups = [sequence.run_groups(p.page) for p in data.pages]
    copies = [sequence.copy_groups(p.page) for p in data.pages]
    oof = OutOfFold(block_oof, box_oof, sequence_oof, stage, span_oof, groups, copies)
    return oof, box_model, sequence_model


def fit_in_sample(
    data: Dataset, block_model: Pipeline, progress: Progress
) -> tuple[Pipeline | None, Pipeline]:
    """With one site there is no cross-validation: the box and sequence models learn from the final
    block model's own scores (None for the box model when no box holds an appeal)."""
    scores = [_predict(block_model, r) for r in data.rows]
    stage = box_stage(data, scores, progress, "describing candidate boxes")
    progress("fitting the box and sequence models on all pages", 0, 1)
    everything = list(range(len(data.pages)))
    box_model = fit_boxes(box_samples(data, stage), everything)
    box_scores = [
        boxes.spread(len(p.page.blocks), spans, _predict(box_model, rows))
        for p, spans, rows in zip(data.pages, stage.spans, stage.rows, strict=True)
    ]
    sequence_model = fit_sequence(block_samples(data, sequence_rows(data, scores, box_scores)), everything)
    progress("fitting the box and sequence models on all pages", 1, 1)
    return box_model, sequence_model


@dataclass
class TrainResult:
    model: HushModel
    report: dict  # cross-validated scores, overall and by group ({} with fewer than two sites)
    per_page: dict[str, CharCounts]  # cross-validated counts per page
    held_out: list[LabelledPage]  # pages of the training folders set aside, never trained on
    own: list[LabelledPage]  # the user's pages
    # per page of per_page: its origin, kind, forms and language, for the report's tables
    page_info: dict[str, dict[str, str]] = field(default_factory=dict)
    # with check_thresholds: the pages scored at thresholds chosen without their sites (unseen_sites)
    unseen: dict[str, CharCounts] = field(default_factory=dict)
    # with check_thresholds: average precision of each stage's out-of-fold scores (ranking_by_origin)
    ranking: dict[str, dict[str, float | None]] = field(default_factory=dict)


def train(
    pages: list[LabelledPage],
    folders: list[str],
    progress: Progress | None = None,
    *,
    own: list[LabelledPage] | None = None,
    own_folders: list[str] | None = None,
    own_weight: float = OWN_WEIGHT,
    workers: int = 1,
    check_thresholds: bool = False,
) -> TrainResult:
    """Train the three stages on the pages of the training folders (less the held-out sites) and the
    user's own pages; returns the model with its cross-validated report and the held-out pages.
    ``workers`` > 1 fits the models in that many processes (see :func:`worker_pool`);
    ``check_thresholds`` also scores the pages at thresholds chosen without their sites (:func:`unseen_sites`,
    a few seconds more, for the report)."""
    # One BLAS/OpenMP thread: parallel sums change the fitted numbers with the thread count, and the
    # shipped model must come out the same on every machine.
    with threadpool_limits(limits=1):
        say = progress or (lambda step, done, total: None)
        own = own or []
        if not pages and not own:
            raise TrainingError("no labelled pages found (HTML files marked with data-hush-label)")
        if not any(p.has_appeal for p in [*pages, *own]):
            raise TrainingError(
                'the pages hold no appeal at all (no data-hush-label="appeal"): nothing to learn'
            )
        started = time.perf_counter()
        base, held = heldout.split(pages)
        training = base + own
        rows = sum(len(p.page.blocks) for p in training)
        with worker_pool(workers, rows) as pool:
            data = build_dataset(training, [False] * len(base) + [True] * len(own), own_weight, say)
            folds = site_folds(data)
            block_model, block_oof = block_stage(data, folds, say, pool)
            chosen_on, weights = threshold_weights(data)
            idx = list(range(len(data.pages)))
            if folds:
                oof, box_model, sequence_model = cross_validate(data, folds, block_oof, say, pool)
                threshold = choose_thresholds(data, oof, idx, weights)
                report, per_page = cv_report(data, oof, threshold)
                unseen, ranked = {}, {}
                if check_thresholds:
                    say("choosing thresholds without the scored sites", 0, 1)
                    unseen = unseen_sites(data, oof, idx, weights)
                    say("choosing thresholds without the scored sites", 1, 1)
                    say("ranking the out-of-fold scores", 0, 1)
                    ranked = ranking_by_origin(data, oof)
                    say("ranking the out-of-fold scores", 1, 1)
            else:
                oof = None
                threshold, report, per_page, unseen, ranked = DEFAULT_THRESHOLD, {}, {}, {}, {}
                box_model, sequence_model = fit_in_sample(data, block_model, say)
        if box_model is None:
            raise TrainingError(
                "the pages hold no appeal box with more than one block: add more labelled pages"
            )
        digest = corpus_digest(training)
        models = (block_model, box_model, sequence_model)
        metadata = {
            "version": f"hush-{_params_digest(models, digest, threshold)[:12]}",
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "corpus_digest": digest,
            "folders": folders,
            "own_folders": own_folders or [],
            "own_weight": own_weight if own else None,
            "pages": len(training),
            "own_pages": len(own),
            "held_out_sites": sorted({p.site for p in held}),
            "sklearn_version": sklearn.__version__,
            "threshold": threshold,
            "threshold_pages": chosen_on if oof is not None else "none (the defaults)",
            "metrics": report,
        }
        model = HushModel(*models, metadata)
        if held:
            say("scoring the held-out pages", 0, 1)
            counts = page_counts(model, held)  # each held-out page scored once, summed by group
            metadata["held_out"] = summary(counts)
            by_origin: dict[str, dict[str, CharCounts]] = {}
            for p in held:
                by_origin.setdefault(origin(p), {})[str(p.path)] = counts[str(p.path)]
            metadata["held_out_by_origin"] = {k: summary(v) for k, v in sorted(by_origin.items())}
            say("scoring the held-out pages", 1, 1)
        metadata["training_seconds"] = round(time.perf_counter() - started, 1)
        info = {str(p.path): page_info(p) for p in data.pages} if per_page else {}
        return TrainResult(model, report, per_page, held, own, info, unseen, ranked)


def _params_digest(models: tuple[Pipeline, ...], corpus: str, threshold: dict) -> str:
    """The corpus, the columns each stage reads, the thresholds and every fitted number."""
    h = hashlib.sha256(corpus.encode())
    h.update(repr((F.BLOCK_NUMERIC, boxes.BOX_NUMERIC, sequence.SEQUENCE_NUMERIC)).encode())
    h.update(repr(sorted(threshold.items())).encode())
    for model in models:
        for array in fitted_arrays(model):
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
    """Folder names as recorded in the metadata: relative to the working directory."""
    return [os.path.relpath(f) for f in folders]
