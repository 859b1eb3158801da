"""The trees of a fitted binary HistGradientBoostingClassifier, walked a group at a time.

HistGradientBoostingClassifier walks its trees one call each: 300 calls of a few microseconds for a
page's few dozen boxes. Here the trees are walked in groups of GROUP: a routing tree on one added column
(the tree's place in its group) leads each (tree, row) pair to the root of its tree, so one call walks a
whole group. Rows are walked on their bins, as training walks them: a row goes left where
``bin(x) <= bin_threshold``, exactly where the raw walk has ``x <= num_threshold`` (a value's bin is the
first of the sorted thresholds not below it, and num_threshold is the threshold of bin_threshold, or
infinity for a split between values and missing ones); missing values go where the tree sends them.
Past GROUPED_ROWS rows the routing costs more than it saves, and each tree walks the raw values itself.
Either way the leaves are added onto the baseline tree by tree, in order, as ``_raw_predict`` adds them.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

GROUP = 16  # trees per walk: fewer calls against deeper routing (measured best for 20 to 400 rows)
GROUPED_ROWS = 120  # above this many rows, a walk per tree (on the raw values) costs less


class Forest:
    def __init__(self, classifier: HistGradientBoostingClassifier) -> None:
        self.baseline = classifier._baseline_prediction.reshape(-1)[0]
        trees = [predictors[0] for predictors in classifier._predictors]
        self.trees = trees
        self.n_trees = len(trees)
        mapper = classifier._bin_mapper
        self.thresholds = list(mapper.bin_thresholds_)
        self.known_categories = mapper.make_known_categories_bitsets()
        self.missing_bin = int(mapper.missing_values_bin_idx_)
        self.n_features = len(self.thresholds)
        self.groups = [
            TreePredictor(
                _routed_nodes(trees[i : i + GROUP], self.n_features),
                trees[i].binned_left_cat_bitsets,
                trees[i].raw_left_cat_bitsets,
            )
            for i in range(0, len(trees), GROUP)
        ]

    @staticmethod
    def supports(classifier: object) -> bool:
        if type(classifier) is not HistGradientBoostingClassifier or classifier.n_trees_per_iteration_ != 1:
            return False
        categorical = classifier.is_categorical_
        trees = [predictors[0] for predictors in classifier._predictors]
        return (
            getattr(classifier, "_preprocessor", None) is None
            and (categorical is None or not np.any(categorical))
            and int(classifier._bin_mapper.missing_values_bin_idx_) >= GROUP
            and len(trees) > 0
            and not any(t.nodes["is_categorical"].any() for t in trees)
        )

    def bins(self, x: np.ndarray) -> np.ndarray:
        """The bin of each value, as the fitted bin mapper maps it (NaN to the missing-value bin)."""
        out = np.empty(x.shape, dtype=np.uint8)
        for f, thresholds in enumerate(self.thresholds):
            col = x[:, f]
            found = np.searchsorted(thresholds, col, side="left")
            out[:, f] = np.where(np.isnan(col), self.missing_bin, found)
        return out

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The raw prediction (log-odds) of each row: the baseline plus each tree's leaf, in tree order."""
        n_rows = len(x)
        sums = np.empty((self.n_trees + 1, n_rows))
        sums[0] = np.zeros(n_rows) + self.baseline
        if n_rows > GROUPED_ROWS:
            known, f_idx_map = self.known_categories
            for t, tree in enumerate(self.trees, 1):
                sums[t] = tree.predict(x, known, f_idx_map, n_threads=1)
        else:
            binned = self.bins(x)
            width = self.n_features + 1
            for g, walker in enumerate(self.groups):
                first = 1 + g * GROUP
                size = min(GROUP, self.n_trees - g * GROUP)
                pairs = np.empty((size, n_rows, width), dtype=np.uint8)
                pairs[:, :, : self.n_features] = binned
                pairs[:, :, self.n_features] = np.arange(size)[:, None]
                leaves = walker.predict_binned(pairs.reshape(-1, width), self.missing_bin, n_threads=1)
                sums[first : first + size] = leaves.reshape(size, n_rows)
        return np.cumsum(sums, axis=0)[-1]  # sequential: the same additions as += tree by tree


def _routed_nodes(trees: list[TreePredictor], feature: int) -> np.ndarray:
    """Routing nodes on column ``feature`` (the tree's place in the list), then the trees' nodes."""
    routing: list[list] = []  # [threshold, left, right]; a target is ("node", i) or ("tree", t)

    def route(places: list[int]) -> tuple[str, int]:
        if len(places) == 1:
            return ("tree", places[0])
        mid = len(places) // 2
        at = len(routing)
        routing.append([places[mid - 1], None, None])
        routing[at][1], routing[at][2] = route(places[:mid]), route(places[mid:])
        return ("node", at)

    route(list(range(len(trees))))  # its root, if any, is node 0; one tree is its own root
    starts = np.cumsum([len(routing)] + [len(t.nodes) for t in trees])
    nodes = np.zeros(starts[-1], dtype=PREDICTOR_RECORD_DTYPE)
    for at, (threshold, left, right) in enumerate(routing):
        nodes[at]["feature_idx"] = feature
        nodes[at]["bin_threshold"] = threshold
        for side, (kind, i) in (("left", left), ("right", right)):
            nodes[at][side] = i if kind == "node" else starts[i]
    for t, tree in enumerate(trees):
        part = tree.nodes.copy()
        inner = part["is_leaf"] == 0
        part["left"][inner] += np.uint32(starts[t])
        part["right"][inner] += np.uint32(starts[t])
        nodes[starts[t] : starts[t + 1]] = part
    return nodes
