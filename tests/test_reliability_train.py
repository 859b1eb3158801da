"""Training never loses work, and bad model files never start anything.

``hush train`` runs on a dozen small labelled pages written here (four sites), so a run takes seconds.
An interrupted run (SIGINT, SIGKILL, a kill while the new file is being written) leaves the old model
byte-identical; a page that cannot be read is named and skipped, or fails the run with ``--strict``.
Model files that are tampered, truncated, foreign or from another scikit-learn version stop
``hush serve`` with one line, and loading never calls pickle.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import skops.io as sio
from sklearn.tree import DecisionTreeClassifier
from small_corpus import write_corpus
from threadpoolctl import threadpool_limits

from model import ModelError, load_model
from model.persist import save
from model.predict import SHIPPED_MODEL, HushModel
from server.cli import main

REPO = Path(__file__).resolve().parents[1]
# One OpenMP thread: on a busy two-core machine more threads only wait for each other.
ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("HUSH_")}, "OMP_NUM_THREADS": "1"}


def train_command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "server.cli", "train", *map(str, args)]


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=180, **kwargs)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small corpus and a model trained on it by a complete ``hush train`` run."""
    root = tmp_path_factory.mktemp("train")
    corpus = write_corpus(root / "pages")
    out = root / "models" / "model.skops"
    done = run(train_command(corpus, "--out", out))
    assert done.returncode == 0, done.stderr
    return corpus, out


def copy_of(model: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "model.skops"
    target.write_bytes(model.read_bytes())
    return target


def test_a_complete_run_leaves_only_the_model(trained, reliability_counts):
    _, out = trained
    reliability_counts["train_runs"] += 1
    assert [p.name for p in out.parent.iterdir()] == ["model.skops"]
    assert load_model(out).metadata["pages"] == 12


@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"]
)
def test_an_interrupted_run_leaves_the_old_model(trained, tmp_path, reliability_counts, sig):
    corpus, model = trained
    old = copy_of(model, tmp_path / "out")
    before = old.read_bytes()
    process = subprocess.Popen(
        train_command(corpus, "--out", old),
        cwd=REPO,
        env=ENV,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background job ignores SIGINT, and its children inherit that: give it back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen = []
    for line in process.stderr:  # the run is well under way once cross-validation starts
        seen.append(line)
        if "cross-validation" in line:
            break
    process.send_signal(sig)
    rest = process.communicate(timeout=60)[1]
    reliability_counts["train_runs"] += 1
    assert "cross-validation" in "".join(seen), "".join(seen) + rest
    assert process.returncode in (130, 143, -signal.SIGKILL), rest
    if sig == signal.SIGINT:
        assert "hush train: interrupted" in rest and "Traceback" not in rest
    if sig == signal.SIGTERM:
        assert "hush train: stopped (SIGTERM)" in rest and "Traceback" not in rest
    assert old.read_bytes() == before
    assert [p.name for p in old.parent.iterdir()] == ["model.skops"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_run_stopped_while_its_worker_processes_fit_stops_at_once(tmp_path, sig):
    """On a corpus large enough for worker processes (the repository's), a SIGTERM stopped the command
    only once every fit already queued had run (51 s with the real pages), and Ctrl-C, which reaches
    the workers too, printed each one's traceback."""
    process = subprocess.Popen(
        train_command(REPO / "corpus" / "pages", "--out", tmp_path / "m.skops", "--jobs", "2"),
        cwd=REPO,
        env=ENV,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "fitting the block model" in line:
            break
    time.sleep(1)  # the workers are fitting
    stopped = time.monotonic()
    if sig == signal.SIGINT:
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(sig)
    rest = process.communicate(timeout=120)[1]
    waited = time.monotonic() - stopped
    assert "fitting the block model" in "".join(seen), "".join(seen) + rest
    assert process.returncode in (130, 143) and "Traceback" not in rest, rest
    assert waited < 5, f"{waited:.1f} s to stop"  # the folds' fits alone take longer
    assert not (tmp_path / "m.skops").exists()


def test_a_run_stopped_while_reporting_leaves_the_old_model(trained, tmp_path, monkeypatch, capsys):
    """The report's halvings train again, for minutes on a real corpus: a Ctrl-C there is still a stop
    before anything is replaced (the model was written before the report once)."""
    import model.halves

    corpus, model_file = trained
    old = copy_of(model_file, tmp_path / "out")
    before = old.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(model.halves, "whole_runs", interrupted)
    report = tmp_path / "report.md"
    argv = ["train", str(corpus), "--out", str(old), "--report", str(report), "--halvings", "1"]
    assert main(argv) == 130
    assert "hush train: interrupted" in capsys.readouterr().err
    assert old.read_bytes() == before and not report.exists()
    assert [p.name for p in old.parent.iterdir()] == ["model.skops"]


SIGNAL_WHILE_SAVING = """
import os, signal, sys
import skops.io as sio
from server.cli import main
write = sio.dump
def dump_then_signal(obj, file, **kw):
    write(obj, file, **kw)  # the new model is complete in the temporary file, not yet moved into place
    os.kill(os.getpid(), signal.SIG{name})
sio.dump = dump_then_signal
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("name", ["KILL", "TERM"])
def test_a_run_killed_while_writing_leaves_the_old_model(trained, tmp_path, reliability_counts, name):
    corpus, model = trained
    old = copy_of(model, tmp_path / "out")
    before = old.read_bytes()
    script = SIGNAL_WHILE_SAVING.replace("{name}", name)
    done = run([sys.executable, "-c", script, "train", str(corpus), "--out", str(old)])
    reliability_counts["train_runs"] += 1
    assert old.read_bytes() == before
    if name == "KILL":
        assert done.returncode == -signal.SIGKILL, done.stderr
        # Only a hidden temporary file can remain (SIGKILL runs no clean-up); never a half-written model.
        assert all(p.name.startswith(".model.skops.") for p in old.parent.iterdir() if p != old)
    else:
        assert done.returncode == 143 and "stopped (SIGTERM)" in done.stderr, done.stderr
        assert [p.name for p in old.parent.iterdir()] == ["model.skops"]  # the temporary file is gone


def test_unreadable_pages_are_named_and_skipped_or_fail_strict(trained, tmp_path, capsys, reliability_counts):
    corpus, model = trained
    pages = tmp_path / "pages"
    pages.mkdir()
    for f in corpus.iterdir():
        (pages / f.name).write_bytes(f.read_bytes())
    (pages / "binary.html").write_bytes(b"\x00\x01data-hush-label\x00" * 50)
    (pages / "empty.html").write_bytes(b"")
    old = copy_of(model, tmp_path / "out")
    before = old.read_bytes()

    with threadpool_limits(limits=1):
        assert main(["train", str(pages), "--out", str(old), "--strict"]) == 2
        err = capsys.readouterr().err
        assert "binary.html" in err and "--strict" in err
        assert old.read_bytes() == before and len(list(old.parent.iterdir())) == 1
        assert main(["train", str(pages), "--out", str(old)]) == 0
    err = capsys.readouterr().err
    skipped = [line for line in err.splitlines() if line.startswith("hush train: skipped")]
    assert any("binary.html" in line and "binary" in line for line in skipped), err
    assert any("empty.html" in line and "empty" in line for line in skipped), err
    assert old.read_bytes() != before and load_model(old).metadata["pages"] == 12
    assert len(list(old.parent.iterdir())) == 1
    reliability_counts["train_runs"] += 2


# --- model files ------------------------------------------------------------------------------------


BAD_MODELS = ("tampered", "truncated", "foreign", "old-sklearn", "garbled", "odd-schema")


def bad_model_files(folder: Path, shipped: HushModel) -> dict[str, Path]:
    files = {name: folder / f"{name}.skops" for name in BAD_MODELS}
    with zipfile.ZipFile(SHIPPED_MODEL) as src, zipfile.ZipFile(files["tampered"], "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "schema.json":
                data = data.replace(b'"builtins"', b'"posix"', 1).replace(b'"dict"', b'"system"', 1)
            dst.writestr(item, data)
    data = SHIPPED_MODEL.read_bytes()
    files["truncated"].write_bytes(data[: len(data) * 2 // 3])
    sio.dump({"block": DecisionTreeClassifier(), "box": None, "metadata": "{}"}, files["foreign"])
    meta = dict(shipped.metadata, sklearn_version="1.0.2")
    stages = (shipped.block_model, shipped.box_model, shipped.sequence_model)
    save(HushModel(*stages, meta), files["old-sklearn"])
    with zipfile.ZipFile(SHIPPED_MODEL) as src, zipfile.ZipFile(files["garbled"], "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item), compress_type=zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(files["garbled"]) as archive:
        schema = archive.getinfo("schema.json")
    data = bytearray(files["garbled"].read_bytes())
    # The schema's compressed data starts after its local header (30 bytes, its name, its extra field);
    # a first byte of 0x07 is a final block of the reserved type, which zlib refuses.
    name_len, extra_len = struct.unpack("<HH", data[schema.header_offset + 26 : schema.header_offset + 30])
    data[schema.header_offset + 30 + name_len + extra_len] = 0x07
    files["garbled"].write_bytes(bytes(data))
    with zipfile.ZipFile(files["odd-schema"], "w") as dst:
        dst.writestr("schema.json", "[]")
    return files


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return bad_model_files(tmp_path_factory.mktemp("bad-models"), load_model())


def test_loading_never_unpickles(bad_files, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("pickle was called while loading a model file")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    assert load_model().version
    for path in bad_files.values():
        with pytest.raises(ModelError):
            load_model(path)


@pytest.mark.parametrize("name", BAD_MODELS)
def test_a_bad_model_file_stops_serve_with_one_line(bad_files, reliability_counts, name):
    done = run(
        [sys.executable, "-m", "server.cli", "serve", "--port", "0", "--model", str(bad_files[name])],
        stdin=subprocess.DEVNULL,
    )
    reliability_counts["serve_start_ups_refused"] += 1
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("hush serve: error:") and str(bad_files[name]) in lines[0]
    assert "Traceback" not in done.stderr
    if name == "old-sklearn":
        assert "scikit-learn 1.0.2" in lines[0] and "hush train" in lines[0]
