"""The block model's cross-validation folds, with every page's text hashed once.

A fold's block pipeline would hash the text of its training pages again (hashing takes a third of a
fit) and once more to score the pages it left out. Hashing needs no fit, so here every page is hashed
once with the serving fast path (model.hashing, the vectorizers' very matrices), and each fold fits
only what the pipeline fits, the scaler and the regression, on those matrices, then scores the pages it
left out. The scores are the ones the fold's whole pipeline gives; only the block model on all pages is
kept, and it is fitted as a pipeline.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from model import features as F
from model.hashing import HashedText
from model.pipeline import block_pipeline

Hashed = tuple[sp.csr_matrix, np.ndarray]  # one page's rows: hashed text columns, numeric columns
Training = tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray]  # usable rows, targets, weights


def _parts() -> tuple[list[tuple[HashedText, int, float]], StandardScaler, list[int]]:
    """The block pipeline's hashers (text columns and weights, in its order), its scaler (last) and the
    scaler's columns."""
    columns = block_pipeline().named_steps["columns"]
    *texts, (name, scaler, numbers) = columns.transformers
    weights = columns.transformer_weights or {}
    if not isinstance(scaler, StandardScaler) or numbers != F.BLOCK_NUMBER_COLUMNS or name in weights:
        raise TypeError("the block pipeline is not hashed texts followed by unweighted scaled numbers")
    return [(HashedText(vec), column, weights.get(n, 1.0)) for n, vec, column in texts], scaler, numbers


def hashed(pages: list[np.ndarray]) -> list[Hashed]:
    """Each page's block rows as the block pipeline's text matrix and its numbers."""
    hashers, _, numbers = _parts()
    out = []
    for rows in pages:
        n = len(rows)
        texts = sp.hstack(
            [_weighted(h.transform([str(v) for v in rows[:, c]]), w) for h, c, w in hashers], format="csr"
        )
        out.append((texts.reshape((n, texts.shape[1])), np.array(rows[:, numbers], dtype=np.float64)))
    return out


def _weighted(matrix: sp.csr_matrix, weight: float) -> sp.csr_matrix:
    """A part's matrix as ColumnTransformer weighs it."""
    return matrix if weight == 1.0 else matrix * weight


def fold_scores(training: list[Training], left_out: list[Hashed]) -> list[np.ndarray]:
    """Fit the scaler and the regression of a block pipeline on the training pages' rows and score the
    pages left out, page by page."""
    _, scaler, _ = _parts()
    classifier = block_pipeline().named_steps["classify"]
    with threadpool_limits(limits=1):
        texts = sp.vstack([t[0] for t in training], format="csr")
        # Column-major, as the pipeline's column selection leaves them: the scaler's sums then match it
        # to the last bit.
        numbers = np.asfortranarray(np.concatenate([t[1] for t in training]))
        scaler.fit(numbers)
        X = sp.hstack([texts, sp.csr_matrix(scaler.transform(numbers))], format="csr")
        classifier.fit(
            X,
            np.concatenate([t[2] for t in training]),
            sample_weight=np.concatenate([t[3] for t in training]),
        )
        lengths = [h[0].shape[0] for h in left_out]
        if not sum(lengths):
            return [np.zeros(0) for _ in left_out]
        texts = sp.vstack([h[0] for h in left_out], format="csr")
        numbers = np.concatenate([h[1] for h in left_out])
        X = sp.hstack([texts, sp.csr_matrix(scaler.transform(numbers))], format="csr")
        scores = classifier.predict_proba(X)[:, 1]
    return np.split(scores, np.cumsum(lengths)[:-1])
