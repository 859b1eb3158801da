"""The way data flows: ``model`` never imports ``server``, and serving never imports training code."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import model.train
import server.cli_train

ROOT = Path(__file__).resolve().parent.parent

# What only training and its reports need; `hush serve` must start and answer without any of it.
TRAINING_MODULES = {
    "model.block_folds",
    "model.compare",
    "model.cv_summary",
    "model.halves",
    "model.heldout",
    "model.pipeline",
    "model.ranking",
    "model.report",
    "model.thresholds",
    "model.train",
    "model.training_data",
}

# A fresh interpreter does what `hush serve` does (the CLI's parser, the app, a request), then names
# every module of ours it has loaded.
SERVING = """
import json, sys
from server.cli import build_parser
from server import create_app

build_parser()
client = create_app({"TESTING": True}).test_client()
html = "<p data-hush-id='1'>The council met.</p><div data-hush-id='2'><h3>Support us</h3><p>Donate.</p></div>"
answer = client.post("/v1/classify", json={"url": "https://example.org/a", "html": html})
assert answer.status_code == 200, answer.data
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("model", "server"))))
"""


def imported_names(path: Path) -> set[str]:
    """The top-level package of every import statement in a Python file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_model_never_imports_server():
    files = sorted((ROOT / "model").glob("*.py"))
    assert files
    offenders = [f.name for f in files if "server" in imported_names(f)]
    assert not offenders, f"model modules importing server: {offenders}"


def test_serving_never_imports_training_code():
    done = subprocess.run(
        [sys.executable, "-c", SERVING], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "model.predict" in loaded and "server.api" in loaded  # it did serve
    assert not loaded & TRAINING_MODULES, sorted(loaded & TRAINING_MODULES)


def test_the_cli_default_weight_is_training_default():
    # The CLI repeats the constant so that loading it never loads training; the two must agree.
    assert server.cli_train.OWN_WEIGHT == model.train.OWN_WEIGHT
