"""The block model's folds on text hashed once give the scores a fold's whole pipeline gives."""

from __future__ import annotations

import numpy as np
from small_corpus import MORE_SITES, SITES, write_corpus
from threadpoolctl import threadpool_limits

from model import block_folds
from model.labelled import load_pages
from model.train import fit_blocks, site_folds
from model.training_data import block_samples, block_targets, build_dataset


def test_a_fold_scores_its_left_out_pages_as_its_pipeline_would(tmp_path):
    pages, _ = load_pages([write_corpus(tmp_path / "corpus", {**SITES, **MORE_SITES}, per_site=2)])
    data = build_dataset(pages, [False] * len(pages), 10.0, lambda *a: None)
    samples = block_samples(data, data.rows)
    hashed = block_folds.hashed(data.rows)
    usable = [block_targets(p)[1] for p in data.pages]
    for train, test in site_folds(data)[:2]:
        training = [(hashed[i][0][usable[i]], hashed[i][1][usable[i]], *samples[i][1:]) for i in train]
        got = block_folds.fold_scores(training, [hashed[i] for i in test])
        with threadpool_limits(limits=1):  # as training fits (more threads change the last bits)
            pipeline = fit_blocks(samples, train)
            for i, scores in zip(test, got, strict=True):
                assert np.array_equal(scores, pipeline.predict_proba(data.rows[i])[:, 1])
