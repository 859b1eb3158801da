"""`hush extension pack`, and static checks of the extension's sources (manifest, safety rules, the
shared checks in lib/common.js run under Node when it is installed, Mozilla's linter on the Firefox zip)."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest

from server import cli_extension
from server.errors import CliError

ROOT = Path(__file__).resolve().parent.parent
EXT = ROOT / "extension"
MANIFEST = json.loads((EXT / "manifest.json").read_text(encoding="utf-8"))
VERSION = MANIFEST["version"]
JS_FILES = sorted(EXT.rglob("*.js"))
HTML_FILES = sorted(EXT.rglob("*.html"))
NODE = shutil.which("node")
LINTER = ROOT / ".tools" / "addons-linter" / "node_modules" / ".bin" / "addons-linter"  # scripts/test.sh


def run_pack(*argv: str) -> int:
    """Parse and run like `hush` does (server/cli.py): a parser with this module's subcommands."""
    parser = argparse.ArgumentParser(prog="hush")
    sub = parser.add_subparsers(dest="command", required=True)
    cli_extension.register(sub)
    args = parser.parse_args(["extension", "pack", *argv])
    return args.handler(args)


# ------------------------------------------------------------------------------------------- pack
@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    assert run_pack("--out", str(out)) == 0
    return out


def read_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        return {name: z.read(name) for name in z.namelist()}


def test_pack_writes_both_zips(packed):
    assert sorted(p.name for p in packed.iterdir()) == [
        f"hush-chromium-{VERSION}.zip",
        f"hush-firefox-{VERSION}.zip",
    ]


def test_chromium_zip_has_a_service_worker_manifest(packed):
    files = read_zip(packed / f"hush-chromium-{VERSION}.zip")
    manifest = json.loads(files["manifest.json"])
    assert manifest["manifest_version"] == 3
    assert manifest["background"] == {"service_worker": "background.js"}
    assert "browser_specific_settings" not in manifest
    assert manifest["content_security_policy"] == MANIFEST["content_security_policy"]


def test_firefox_zip_has_background_scripts_and_gecko_settings(packed):
    files = read_zip(packed / f"hush-firefox-{VERSION}.zip")
    manifest = json.loads(files["manifest.json"])
    assert manifest["background"] == {"scripts": ["lib/common.js", "background.js"]}
    gecko = manifest["browser_specific_settings"]["gecko"]
    assert gecko["id"]
    # data_collection_permissions is read from Firefox 140 (for Android, 142) on.
    assert int(gecko["strict_min_version"].split(".")[0]) >= 140
    android = manifest["browser_specific_settings"]["gecko_android"]
    assert int(android["strict_min_version"].split(".")[0]) >= 142
    assert "websiteContent" in gecko["data_collection_permissions"]["required"]


@pytest.mark.skipif(
    not LINTER.exists(), reason="addons-linter is not installed (scripts/test.sh installs it where npm is)"
)
def test_firefox_zip_passes_mozillas_linter(packed):
    """Mozilla's add-ons linter, which addons.mozilla.org runs on every upload, finds nothing in the
    Firefox zip: no error, no warning, no notice."""
    zip_path = packed / f"hush-firefox-{VERSION}.zip"
    done = subprocess.run(
        [str(LINTER), "--output", "json", str(zip_path)], capture_output=True, text=True, timeout=180
    )
    assert done.stdout.strip(), done.stderr[-2000:]
    report = json.loads(done.stdout)
    found = [
        f"{m['code']}: {m['description']}" for kind in ("errors", "warnings", "notices") for m in report[kind]
    ]
    assert not found, found


@pytest.mark.parametrize("browser", ["chromium", "firefox"])
def test_zips_hold_the_extension_files_and_nothing_else(packed, browser):
    names = set(read_zip(packed / f"hush-{browser}-{VERSION}.zip"))
    expected = {"manifest.json"} | {
        p.relative_to(EXT).as_posix() for p in EXT.rglob("*") if p.suffix in {".js", ".html", ".css", ".png"}
    }
    assert names == expected
    assert not any(n.endswith(".md") or n.startswith((".", "dist/")) for n in names)
    for icon in MANIFEST["icons"].values():
        assert icon in names


def test_pack_is_reproducible(packed, tmp_path):
    run_pack("--out", str(tmp_path))
    for name in (f"hush-chromium-{VERSION}.zip", f"hush-firefox-{VERSION}.zip"):
        assert (tmp_path / name).read_bytes() == (packed / name).read_bytes()


def test_pack_skips_stray_files(tmp_path):
    src = tmp_path / "ext"
    shutil.copytree(EXT, src)
    (src / "dist").mkdir(exist_ok=True)
    (src / "dist" / "old.zip").write_bytes(b"PK")
    (src / ".DS_Store").write_bytes(b"x")
    (src / "notes.txt").write_text("x")
    run_pack("--src", str(src), "--out", str(src / "dist"))
    names = set(read_zip(src / "dist" / f"hush-chromium-{VERSION}.zip"))
    assert not {"dist/old.zip", ".DS_Store", "notes.txt"} & names


def test_pack_errors_are_one_line(tmp_path):
    with pytest.raises(CliError, match="source folder not found"):
        run_pack("--src", str(tmp_path / "nope"), "--out", str(tmp_path / "out"))

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text("{not json")
    with pytest.raises(CliError, match="not valid JSON"):
        run_pack("--src", str(bad), "--out", str(tmp_path / "out"))

    (bad / "manifest.json").write_text(json.dumps({**MANIFEST, "version": "one"}))
    with pytest.raises(CliError, match="no valid version"):
        run_pack("--src", str(bad), "--out", str(tmp_path / "out"))

    (bad / "manifest.json").write_text(json.dumps(MANIFEST))
    with pytest.raises(CliError, match="names files that are not in"):
        run_pack("--src", str(bad), "--out", str(tmp_path / "out"))

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CliError, match="cannot create"):
        run_pack("--out", str(blocker))


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"version": "1.0\n"}, "no valid version"),
        ({"icons": ["icons/icon-16.png"]}, "icons must be"),
        ({"content_scripts": {"js": ["content.js"]}}, "content_scripts must be a list of objects"),
        ({"content_scripts": ["content.js"]}, "content_scripts must be a list of objects"),
        ({"action": "popup.html"}, "action must be an object"),
        ({"options_ui": {"open_in_tab": True}}, "options_ui.page must name a file"),
        ({"background": {**MANIFEST["background"], "service_worker": 7}}, "service_worker must name a file"),
        (
            {"background": {**MANIFEST["background"], "scripts": "background.js"}},
            "must be a list of file names",
        ),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_named(tmp_path, change, said):
    src = tmp_path / "ext"
    shutil.copytree(EXT, src)
    (src / "manifest.json").write_text(json.dumps({**MANIFEST, **change}))
    with pytest.raises(CliError, match=said):
        run_pack("--src", str(src), "--out", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# ----------------------------------------------------------------------------------- the manifest
def test_manifest_loads_in_chromium_and_firefox():
    assert MANIFEST["manifest_version"] == 3
    assert MANIFEST["background"]["service_worker"] == "background.js"
    assert MANIFEST["background"]["scripts"][-1] == "background.js"
    gecko = MANIFEST["browser_specific_settings"]["gecko"]
    assert re.fullmatch(r"[\w.-]*@[\w.-]+", gecko["id"])
    assert "websiteContent" in gecko["data_collection_permissions"]["required"]
    for script in MANIFEST["content_scripts"]:
        assert script["matches"] == ["http://*/*", "https://*/*"]
        assert script["js"][0] == "lib/common.js"


def test_content_security_policy_is_strict():
    csp = MANIFEST["content_security_policy"]["extension_pages"]
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in (d.strip() for d in csp.split(";")) if part
    )
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["default-src"] == ["'none'"]
    assert "'unsafe-eval'" not in csp and "'unsafe-inline'" not in csp
    # http only to loopback: a remote endpoint has to be https.
    assert "http:" not in directives["connect-src"]
    assert all(s in ("https:", "http://127.0.0.1:*", "http://localhost:*") for s in directives["connect-src"])


def test_no_other_extension_or_page_can_connect():
    assert "externally_connectable" not in MANIFEST
    assert "web_accessible_resources" not in MANIFEST


def test_icons_are_pngs_of_their_size():
    for size, rel in MANIFEST["icons"].items():
        data = (EXT / rel).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", data[16:24])
        assert (width, height) == (int(size), int(size))


# ---------------------------------------------------------------------------------- safety rules
UNSAFE = [
    r"\beval\s*\(",
    r"\bnew\s+Function\b",
    r"\.innerHTML\b",
    r"\.outerHTML\s*=",
    r"insertAdjacentHTML",
    r"document\.write",
    r"setTimeout\(\s*['\"`]",
    r"\bimport\s*\(",
    r"createContextualFragment",
    r"DOMParser",
]


@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: p.relative_to(EXT).as_posix())
def test_scripts_use_no_html_parsing_or_eval(path):
    text = path.read_text(encoding="utf-8")
    for pattern in UNSAFE:
        assert not re.search(pattern, text), f"{path.name} matches {pattern}"


@pytest.mark.parametrize("path", HTML_FILES, ids=lambda p: p.name)
def test_pages_load_only_local_scripts(path):
    text = path.read_text(encoding="utf-8")
    assert "<script>" not in text.replace(" ", ""), "inline script"
    assert not re.search(r"\son[a-z]+\s*=", text), "inline event handler"
    for src in re.findall(r'<script[^>]*\bsrc="([^"]+)"', text):
        assert not re.match(r"^[a-z]+:|^//", src), f"remote script {src}"
        assert (EXT / src).is_file()


def test_only_the_service_worker_fetches():
    for path in JS_FILES:
        if path.name != "background.js":
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"\bfetch\s*\(|XMLHttpRequest|WebSocket|sendBeacon", text), path.name


# ------------------------------------------------------------------------------ JS, under Node
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


@needs_node
@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: p.relative_to(EXT).as_posix())
def test_scripts_parse(path):
    result = subprocess.run([NODE, "--check", str(path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def run_common(js: str):
    script = f"""
        globalThis.chrome = {{ runtime: {{}}, storage: {{ local: {{}} }} }};
        require({json.dumps(str(EXT / "lib" / "common.js"))});
        const H = globalThis.Hush;
        const out = ({js});
        process.stdout.write(JSON.stringify(out));
    """
    result = subprocess.run([NODE, "-e", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@needs_node
def test_token_rules():
    """As `hush serve` takes a token: printable ASCII without spaces (fetch refuses other characters)."""
    got = run_common(
        """["", "  s3cret_1.~  ", "two words", "s\u00ebkrit", "\u03a9"].map((t) => H.checkToken(t).ok)"""
    )
    assert got == [True, True, False, False, False]


@needs_node
def test_endpoint_rules():
    got = run_common(
        """Object.fromEntries([
            "http://127.0.0.1:8787", "http://localhost:9000/", "http://[::1]:8787", "https://hush.example.org/base/",
            "http://hush.example.org", "http://192.168.1.5:8787", "ftp://127.0.0.1", "https://u:p@example.org",
            "https://example.org/?x=1", "not a url", ""
        ].map((u) => [u, H.checkEndpoint(u).ok ? H.checkEndpoint(u).url : null]))"""
    )
    assert got == {
        "http://127.0.0.1:8787": "http://127.0.0.1:8787",
        "http://localhost:9000/": "http://localhost:9000",
        "http://[::1]:8787": None,  # Chromium drops http://[::1]:* from the policy as invalid
        "https://hush.example.org/base/": "https://hush.example.org/base",
        "http://hush.example.org": None,
        "http://192.168.1.5:8787": None,
        "ftp://127.0.0.1": None,
        "https://u:p@example.org": None,
        "https://example.org/?x=1": None,
        "not a url": None,
        "": None,
    }
    defaults = run_common("H.normaliseSettings({})")
    assert defaults == {
        "endpoint": "http://127.0.0.1:8787",
        "token": "",
        "mode": "placeholder",
        "disabledSites": [],
    }


@needs_node
def test_answer_shape_is_checked():
    got = run_common(
        """[
            {hide: ["1", "a2", "1"]},
            {hide: []},
            {hide: ["<img src=x onerror=alert(1)>"]},
            {hide: ["ABC"]},
            {hide: [7]},
            {hide: "1"},
            {},
            [],
            null,
            {hide: Array.from({length: 6000}, (_, i) => i.toString(36))},
            {hide: ["x".repeat(11)]},
        ].map((a) => { try { return H.checkAnswer(a); } catch (e) { return "rejected"; } })"""
    )
    assert got == [["1", "a2"], []] + ["rejected"] * 9


@needs_node
def test_site_list_matching():
    got = run_common(
        """[
            H.isSiteDisabled(["example.org"], "www.example.org"),
            H.isSiteDisabled(["example.org"], "news.example.org"),
            H.isSiteDisabled(["example.org"], "badexample.org"),
            H.isSiteDisabled([], "example.org"),
            H.siteKey("WWW.Example.ORG."),
        ]"""
    )
    assert got == [True, True, False, False, "example.org"]
