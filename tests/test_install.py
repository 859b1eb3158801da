"""The README's set-up as a user follows it: ``pip install .`` (not editable) into a new environment, then
the installed ``hush``. Outside the checkout, it classifies and serves with the shipped model and the API
description that come with the package; at the checkout's root, ``hush extension pack`` finds extension/.

Most tests share an environment that reads this one's packages after its own, so only Hush itself is
installed; pip fetches the build backend from the package index, as the README's command does.
One more installs Hush with every dependency for the distribution's own Python (Debian 12: 3.11.2).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
import zipfile
from pathlib import Path

import browser_support as bs
import pytest

from model import load_model

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = Path("/usr/bin/python3")  # the distribution's own Python
# What the package is built from; the rest of the checkout (corpus, tests, tools) stays out of the copy.
LEFT_OUT = (
    ".git",
    ".tools",
    ".venv",
    "build",
    "*.egg-info",
    "__pycache__",
    "node_modules",
    "corpus",
    "tests",
    "docs",
)
PAGE = (
    '<html><body><p data-hush-id="1">The council met on Monday to discuss the bridge.</p>'
    '<div data-hush-id="2"><h3>Support our journalism</h3><p>We are reader-funded. Please donate monthly: '
    '$5, $10 or $25.</p><a href="/donate">Donate now</a></div></body></html>'
)


def install(base: Path, python: str, *, with_dependencies: bool) -> Path:
    """A new environment of ``python`` in base/env with Hush installed from a copy of this checkout (the
    copy removed afterwards, so nothing is read from it); its bin/ folder. Without its dependencies, the
    environment reads this environment's packages after its own (as --system-site-packages would, also
    when the tests run in a venv)."""
    source = base / "hush"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LEFT_OUT))
    env = base / "env"
    subprocess.run([python, "-m", "venv", str(env)], check=True, capture_output=True)
    python_in_env = str(env / "bin" / "python")
    if not with_dependencies:
        where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        own = subprocess.run([python_in_env, "-c", where], capture_output=True, text=True, check=True)
        ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
        Path(own.stdout.strip(), "this-environment.pth").write_text("\n".join(sorted(ours)) + "\n")
    pip_args = () if with_dependencies else ("--no-deps",)
    done = subprocess.run(
        [python_in_env, "-m", "pip", "install", "-q", *pip_args, str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    shutil.rmtree(source)
    return env / "bin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Hush installed (only Hush: its dependencies are this environment's) in a new environment."""
    return install(tmp_path_factory.mktemp("install"), sys.executable, with_dependencies=False)


def run(installed: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(installed / "hush"), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_installed_copy_is_the_one_that_runs(installed, tmp_path):
    done = subprocess.run(
        [
            str(installed / "python"),
            "-c",
            "import model, server; print(model.__file__); print(server.__file__)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    env = installed.parent.resolve()
    assert all(Path(line).resolve().is_relative_to(env) for line in done.stdout.split()), done.stdout


def test_classify_uses_the_shipped_model_that_came_with_the_package(installed, tmp_path):
    (tmp_path / "page.html").write_text(PAGE, encoding="utf-8")
    done = run(installed, "classify", "page.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Support our journalism" in done.stdout and load_model().version in done.stdout
    assert "council" not in done.stdout


def test_serve_answers_with_the_shipped_model_and_its_api_description(installed, tmp_path):
    port = bs.free_port()
    log = tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(installed / "hush"), "serve", "--port", str(port)],
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        bs.wait_until_serving(process, url, 30, lambda: log.read_text(errors="replace"))
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
            assert json.load(response)["model"] == load_model().version
        with urllib.request.urlopen(f"{url}/openapi.json", timeout=10) as response:
            assert "/v1/classify" in json.load(response)["paths"]
        request = urllib.request.Request(
            f"{url}/v1/classify",
            data=json.dumps({"url": "https://example.org/a", "html": PAGE}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.load(response)["hide"] == ["2"]
    finally:
        bs.stop(process)


def test_the_labelling_page_comes_with_the_package(installed, tmp_path):
    listing = "from importlib import resources; print(*sorted(p.name for p in resources.files('server')"
    listing += ".joinpath('label_static').iterdir()))"
    done = subprocess.run(
        [str(installed / "python"), "-c", listing], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == sorted(p.name for p in (ROOT / "server" / "label_static").iterdir())


def test_extension_pack_reads_the_extension_of_the_checkout_it_runs_in(installed, tmp_path):
    done = run(installed, "extension", "pack", "--out", str(tmp_path / "dist"), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    zips = sorted((tmp_path / "dist").iterdir())
    assert [p.name.split("-")[1] for p in zips] == ["chromium", "firefox"]
    with zipfile.ZipFile(zips[0]) as packed:
        assert packed.read("content.js") == (ROOT / "extension" / "content.js").read_bytes()

    elsewhere = run(installed, "extension", "pack", "--out", str(tmp_path / "dist2"), cwd=tmp_path)
    assert elsewhere.returncode == 2 and "Traceback" not in elsewhere.stderr
    assert "root of Hush's repository" in elsewhere.stderr and not (tmp_path / "dist2").exists()


def test_installs_with_its_dependencies_on_the_systems_own_python(tmp_path):
    """The set-up on a fresh Debian machine: Debian's own Python (12: 3.11.2, older than the Python these
    tests run on), a new environment, and every dependency resolved for that Python by pip."""
    if not SYSTEM_PYTHON.exists():
        pytest.skip(f"{SYSTEM_PYTHON} not found: no distribution Python to install with")
    probe = subprocess.run([str(SYSTEM_PYTHON), "-c", "import ensurepip"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"{SYSTEM_PYTHON} cannot make environments (apt-get install python3-venv)")
    bin_dir = install(tmp_path, str(SYSTEM_PYTHON), with_dependencies=True)
    (tmp_path / "page.html").write_text(PAGE, encoding="utf-8")
    done = run(bin_dir, "classify", "page.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Support our journalism" in done.stdout and load_model().version in done.stdout

    # The filter-list peer needs soupsieve 3, which needs Python 3.11.5: below that, a clear error.
    (tmp_path / "rules.txt").write_text("example.org##.donate\n", encoding="utf-8")
    peer = run(bin_dir, "evaluate", "page.html", "--peer", "rules.txt", cwd=tmp_path)
    version = subprocess.run(
        [str(bin_dir / "python"), "-c", "import sys; print(*sys.version_info[:3])"],
        capture_output=True,
        text=True,
        check=True,
    )
    if tuple(map(int, version.stdout.split())) >= (3, 11, 5):
        assert peer.returncode == 0, peer.stderr
    else:
        assert peer.returncode == 2 and "needs Python 3.11.5 or newer" in peer.stderr, peer.stderr
        assert "Traceback" not in peer.stderr
