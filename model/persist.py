"""Saving and loading model files with skops: no pickle, only the types a Hush model is made of."""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path

import sklearn
import skops.io as sio

from model import boxes
from model import features as F
from model.errors import ModelError
from model.files import replaced_atomically
from model.predict import HushModel
from model.sequence import SEQUENCE_NUMERIC

# Every type a Hush model file may hold; anything else means the file is not one of ours.
EXPECTED_TYPES = frozenset(
    {
        "builtins.bool",
        "builtins.dict",
        "builtins.float",
        "builtins.int",
        "builtins.list",
        "builtins.slice",
        "builtins.str",
        "builtins.tuple",
        "numpy.dtype",
        "numpy.float32",
        "numpy.float64",
        "numpy.int64",
        "numpy.ndarray",
        "numpy.random._generator.Generator",
        "numpy.uint64",
        "sklearn._loss._loss.CyHalfBinomialLoss",
        "sklearn._loss.link.Interval",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn.compose._column_transformer.ColumnTransformer",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.preprocessing._label.LabelEncoder",
        "sklearn.feature_extraction.text.HashingVectorizer",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._data.StandardScaler",
    }
)


# What reading a damaged archive raises: in the zip reader, in zlib, or in skops reading a schema of the
# wrong shape.
UNREADABLE = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
)


def types_in(path: Path) -> set[str]:
    """Every type named in a skops file's schema, read without loading anything."""
    with zipfile.ZipFile(path) as archive:
        schema = json.loads(archive.read("schema.json"))
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__class__" in node:
                found.add(f"{node.get('__module__', '')}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def save(model: HushModel, path: Path) -> None:
    """Write the model atomically: a temporary file beside the target, moved into place when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_atomically(path) as tmp:
        dump(model, tmp)


def dump(model: HushModel, file: Path) -> None:
    """Write the model to ``file`` as it is (:func:`save` writes it atomically)."""
    payload = {
        "block": model.block_model,
        "box": model.box_model,
        "sequence": model.sequence_model,
        "metadata": json.dumps(model.metadata, sort_keys=True),
    }
    sio.dump(payload, file, compression=zipfile.ZIP_DEFLATED, compresslevel=6)


def load(path: Path) -> HushModel:
    """Load and check a model file; every problem becomes a ModelError with one clear line."""
    if path.is_dir():
        raise ModelError(f"{path} is a directory, not a model file")
    if not path.exists():
        raise ModelError(f"model file not found: {path}")
    if not path.is_file():
        raise ModelError(f"{path} is not a regular file, not a model file")
    try:
        with path.open("rb"):
            pass
    except OSError as err:
        raise ModelError(f"cannot read {path}: {err.strerror or err}") from None
    try:
        found = types_in(path)
        untrusted = set(sio.get_untrusted_types(file=path))
    except UNREADABLE as err:
        raise ModelError(f"{path} is not a Hush model file (unreadable skops archive: {err})") from None
    unexpected = sorted((found | untrusted) - EXPECTED_TYPES)
    if unexpected:
        raise ModelError(
            f"{path} holds types a Hush model never has, refusing to load: {', '.join(unexpected)}"
        )
    try:
        payload = sio.load(path, trusted=sorted(untrusted))
        if "sequence" not in payload:
            raise ModelError(
                f"{path} was made by an older Hush (no sequence stage); retrain with 'hush train'"
            )
        metadata = json.loads(payload["metadata"])
        if not isinstance(metadata, dict):
            raise ModelError(f"{path} is damaged or not a Hush model (its metadata is not a table)")
        model = HushModel(payload["block"], payload["box"], payload["sequence"], metadata, path=path)
    except ModelError:
        raise
    except Exception as err:  # noqa: BLE001 - any failure here means a damaged or foreign file
        raise ModelError(f"{path} is damaged or not a Hush model ({type(err).__name__}: {err})") from None
    trained_with = metadata.get("sklearn_version")
    if trained_with != sklearn.__version__:
        raise ModelError(
            f"{path} was trained with scikit-learn {trained_with}, but {sklearn.__version__} is installed; "
            f"install scikit-learn=={trained_with} or retrain with 'hush train'"
        )
    _check_columns(model, path)
    return model


def _check_columns(model: HushModel, path: Path) -> None:
    """Each stage must read the columns this version of Hush writes (a file from another may not)."""
    expected = {
        "block": (model.block_model, F.BLOCK_FIRST_NUMBER + len(F.BLOCK_NUMERIC)),
        "box": (model.box_model, len(boxes.BOX_NUMERIC)),
        "sequence": (model.sequence_model, len(SEQUENCE_NUMERIC)),
    }
    for stage, (pipeline, columns) in expected.items():
        found = getattr(pipeline, "n_features_in_", None)
        if found != columns:
            raise ModelError(
                f"{path} was made by another version of Hush (its {stage} stage reads {found} columns, "
                f"this version writes {columns}); retrain with 'hush train'"
            )
