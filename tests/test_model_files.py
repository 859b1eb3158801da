"""Model files: the shipped one loads; damaged, foreign or mismatched ones fail with a clear message."""

from __future__ import annotations

import json
import os
import stat
import zipfile

import pytest
import skops.io as sio
from sklearn.tree import DecisionTreeClassifier

from model import ModelError, load_model
from model.persist import save
from model.predict import SHIPPED_MODEL, HushModel


@pytest.fixture(scope="module")
def shipped() -> HushModel:
    return load_model()


def test_the_shipped_model_carries_its_metadata(shipped):
    meta = shipped.metadata
    for key in (
        "version",
        "trained_at",
        "corpus_digest",
        "sklearn_version",
        "threshold",
        "metrics",
        "folders",
    ):
        assert key in meta
    assert shipped.version.startswith("hush-")
    thresholds = tuple(shipped.threshold[k] for k in ("block", "box", "sequence"))
    # 1.01: that stage alone never hides a block; at least one stage does.
    assert all(0 < t <= 1.01 for t in thresholds) and min(thresholds) <= 1


def test_a_missing_file(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "nope.skops")


def test_a_folder_or_a_pipe_is_named_for_what_it_is(tmp_path):
    """Both were "model file not found", though the path was there."""
    with pytest.raises(ModelError, match="is a directory, not a model file"):
        load_model(tmp_path)
    pipe = tmp_path / "pipe.skops"
    os.mkfifo(pipe)
    with pytest.raises(ModelError, match="not a regular file"):
        load_model(pipe)


def test_random_bytes(tmp_path):
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"\x00\x01 not a zip at all" * 100)
    with pytest.raises(ModelError, match="not a Hush model"):
        load_model(bad)


def test_a_truncated_file(tmp_path):
    cut = tmp_path / "cut.skops"
    cut.write_bytes(SHIPPED_MODEL.read_bytes()[: SHIPPED_MODEL.stat().st_size // 2])
    with pytest.raises(ModelError):
        load_model(cut)


def test_a_foreign_skops_file_is_refused_for_its_types(tmp_path):
    foreign = tmp_path / "tree.skops"
    sio.dump({"block": DecisionTreeClassifier(), "box": None, "metadata": "{}"}, foreign)
    with pytest.raises(ModelError, match="DecisionTreeClassifier"):
        load_model(foreign)


def test_a_tampered_member_is_refused(tmp_path):
    tampered = tmp_path / "tampered.skops"
    with zipfile.ZipFile(SHIPPED_MODEL) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "schema.json":
                data = data.replace(b"sklearn.pipeline", b"os.system.pipeline", 1)
            dst.writestr(item, data)
    with pytest.raises(ModelError):
        load_model(tampered)


def test_a_model_from_another_scikit_learn_version(tmp_path, shipped):
    meta = dict(shipped.metadata, sklearn_version="0.1.0")
    other = tmp_path / "old.skops"
    save(HushModel(shipped.block_model, shipped.box_model, shipped.sequence_model, meta), other)
    with pytest.raises(ModelError, match="scikit-learn 0.1.0"):
        load_model(other)


def test_a_model_from_before_the_sequence_stage(tmp_path, shipped):
    old = tmp_path / "two-stages.skops"
    meta = json.dumps(shipped.metadata)
    sio.dump({"block": shipped.block_model, "box": shipped.box_model, "metadata": meta}, old)
    with pytest.raises(ModelError, match="older Hush"):
        load_model(old)


def test_a_model_whose_stages_read_other_columns(tmp_path, shipped):
    other = tmp_path / "other-columns.skops"
    stages = (shipped.block_model, shipped.sequence_model, shipped.sequence_model)  # a box stage of 8
    save(HushModel(*stages, shipped.metadata), other)
    with pytest.raises(ModelError, match="another version of Hush .*box stage reads 8 columns"):
        load_model(other)


def test_saving_leaves_no_temporary_file(tmp_path, shipped):
    save(shipped, tmp_path / "m.skops")
    assert [p.name for p in tmp_path.iterdir()] == ["m.skops"]
    assert load_model(tmp_path / "m.skops").version == shipped.version


def test_a_saved_model_is_readable_as_a_new_file_is_and_keeps_the_mode_it_replaces(tmp_path, shipped):
    # A model trained by one user and served by another: the file gets the umask's permissions, where a
    # temporary file's 0600 would lock the server out; a file replaced keeps the permissions it had.
    old = os.umask(0o022)
    try:
        save(shipped, tmp_path / "m.skops")
        assert stat.S_IMODE((tmp_path / "m.skops").stat().st_mode) == 0o644
        (tmp_path / "m.skops").chmod(0o640)
        save(shipped, tmp_path / "m.skops")
        assert stat.S_IMODE((tmp_path / "m.skops").stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_a_model_made_read_only_is_not_replaced(tmp_path, shipped):
    """A move over a file needs only its folder to be writable, so a model its owner made read-only was
    replaced all the same."""
    kept = tmp_path / "m.skops"
    kept.write_bytes(b"an older model")
    kept.chmod(0o444)
    with pytest.raises(PermissionError, match="read-only"):
        save(shipped, kept)
    assert kept.read_bytes() == b"an older model" and [p.name for p in tmp_path.iterdir()] == ["m.skops"]
