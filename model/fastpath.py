"""Scoring with the fitted pipelines' own parameters, without their per-call overhead.

The pipelines in the model file stay as training made them. At prediction time the block model's
ColumnTransformer costs far more than its arithmetic: every HashingVectorizer builds its n-grams and
hashes them one by one, the parts are stacked through a COO matrix, and the classifier checks its
input at length. Here each distinct word and n-gram of a page is hashed once, and the fitted scaler
and classifiers are applied to the same numbers in the same order, with no matrix built: the scores
are the very ones the pipelines give (tests compare them bit for bit). A pipeline of another shape is
not handled here: ``BlockScorer.build`` and ``BoxScorer.build`` return None and the caller uses it as
is.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from model.forest import Forest
from model.hashing import HashedText

Column = int | list[int]  # a ColumnTransformer's column selection: one text column or numeric columns


def _scaled(scaler: StandardScaler, x: np.ndarray) -> np.ndarray:
    """StandardScaler.transform on a float64 array: the same subtraction and division, element by element."""
    x = np.array(x, dtype=np.float64)
    if scaler.with_mean:
        x -= scaler.mean_.astype(np.float64)
    if scaler.with_std:
        x /= scaler.scale_.astype(np.float64)
    return x


def _scaler_ok(scaler: object) -> bool:
    return type(scaler) is StandardScaler and (not scaler.with_std or scaler.scale_ is not None)


def _parts(columns: object) -> list[tuple[object, Column, float]] | None:
    """The fitted transformers of a ColumnTransformer, their columns and weights (1 where none is set),
    or None if not all are handled."""
    if type(columns) is not ColumnTransformer:
        return None
    weights = columns.transformer_weights or {}
    parts: list[tuple[object, Column, float]] = []
    for name, trans, cols in columns.transformers_:
        if name == "remainder" or trans == "drop":
            if trans != "drop":
                return None
            continue
        weight = weights.get(name, 1.0)
        if isinstance(cols, int | np.integer) and HashedText.supports(trans):
            parts.append((HashedText(trans), int(cols), weight))
        elif isinstance(cols, list) and all(isinstance(c, int) for c in cols) and _scaler_ok(trans):
            parts.append((trans, list(cols), weight))
        else:
            return None
    return parts


class BlockScorer:
    """The block pipeline (hashed texts and scaled numbers, then logistic regression), applied to a
    page's block columns."""

    def __init__(self, pipeline: Pipeline, parts: list[tuple[object, Column, float]]) -> None:
        self.pipeline = pipeline
        self.parts = parts
        self.classifier: LogisticRegression = pipeline.steps[-1][1]
        self.coef = self.classifier.coef_[0].astype(np.float64)
        self.intercept = self.classifier.intercept_.astype(np.float64)

    @classmethod
    def build(cls, pipeline: object) -> BlockScorer | None:
        if type(pipeline) is not Pipeline or len(pipeline.steps) != 2:
            return None
        columns, classifier = (step for _, step in pipeline.steps)
        parts = _parts(columns)
        if parts is None or not columns.sparse_output_ or type(classifier) is not LogisticRegression:
            return None
        if len(classifier.classes_) != 2:
            return None
        return cls(pipeline, parts)

    def scores(self, text: Callable[[int], list[str]], numbers: np.ndarray, first: int) -> np.ndarray:
        """The appeal probability of each row: text(i) is text column i, numbers the numeric columns from
        column ``first`` on. The classifier's sparse product adds, row by row, each stored cell's value
        times its coefficient, part by part and column by column from zero; the same products are added
        here in the same order (np.bincount adds its weights in turn), without building the matrix."""
        rows, terms = [], []
        offset = 0
        for trans, cols, weight in self.parts:
            if isinstance(trans, HashedText):
                row, col, value = trans.cells(text(cols))
                width = trans.n_features
            else:
                dense = _scaled(trans, numbers[:, [c - first for c in cols]])
                row, col = np.nonzero(dense)  # the cells a sparse copy keeps, row by row
                value, width = dense[row, col], len(cols)
            if weight != 1.0:  # as ColumnTransformer weighs a part: its values times the weight
                value = value * weight
            rows.append(row)
            terms.append(value.astype(np.float64) * self.coef[offset + col])
            offset += width
        total = np.bincount(np.concatenate(rows), weights=np.concatenate(terms), minlength=len(numbers))
        return expit(total + self.intercept)


class BoxScorer:
    """A tree stage's pipeline (scaled numbers, then gradient-boosted trees: the box and the sequence
    stages), applied to its numeric columns."""

    def __init__(self, pipeline: Pipeline, scaler: StandardScaler, cols: list[int]) -> None:
        self.pipeline = pipeline
        self.scaler = scaler
        self.cols = cols
        self.classifier: HistGradientBoostingClassifier = pipeline.steps[-1][1]
        self.forest = Forest(self.classifier)

    @classmethod
    def build(cls, pipeline: object) -> BoxScorer | None:
        if type(pipeline) is not Pipeline or len(pipeline.steps) != 2:
            return None
        columns, classifier = (step for _, step in pipeline.steps)
        parts = _parts(columns)
        if parts is None or len(parts) != 1 or columns.sparse_output_:
            return None
        ((scaler, cols, weight),) = parts
        if weight != 1.0 or not isinstance(cols, list) or not Forest.supports(classifier):
            return None
        return cls(pipeline, scaler, cols)

    def scores(self, numbers: np.ndarray, first: int) -> np.ndarray:
        x = _scaled(self.scaler, numbers[:, [c - first for c in self.cols]])
        return self.classifier._loss.predict_proba(self.forest.raw(x).reshape(-1, 1))[:, 1]
