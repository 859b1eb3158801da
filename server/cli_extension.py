"""``hush extension pack``: the browser extension as the zips that Chromium and Firefox install.

One source tree (``extension/``) loads unpacked in both browsers: its manifest has both
``background.service_worker`` (Chromium) and ``background.scripts`` (Firefox). Each zip gets a manifest
with only the keys its browser uses, so neither store's checks trip over the other's. The zips are
reproducible: sorted entries, fixed timestamps and permissions.
"""

from __future__ import annotations

import argparse
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from model.files import replaced_atomically
from server.errors import CliError

# extension/ beside the code: there in a checkout (an editable install), not in an installed copy.
CHECKOUT_SOURCE = Path(__file__).resolve().parent.parent / "extension"
# What goes into the zips: the extension's own files, nothing the developer left beside them.
PACKED_SUFFIXES = {".js", ".html", ".css", ".png", ".json"}
SKIPPED_DIRS = {"dist", "node_modules", "web-ext-artifacts", "__pycache__"}
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
VERSION_RE = re.compile(r"^\d+(\.\d+){0,3}$")


def register(subparsers: Any) -> None:
    """Add ``extension pack`` to the ``hush`` command line."""
    parser = subparsers.add_parser(
        "extension",
        help="build the browser extension's zips",
        description="Tools for the Hush browser extension.",
    )
    sub = parser.add_subparsers(dest="extension_command", metavar="ACTION", required=True)
    pack = sub.add_parser(
        "pack",
        help="write hush-chromium-<version>.zip and hush-firefox-<version>.zip",
        description="Build the Chromium and Firefox zips of the extension.",
    )
    pack.add_argument(
        "--out", metavar="DIR", default="dist", help="folder for the zips (default: %(default)s)"
    )
    pack.add_argument(
        "--src",
        metavar="DIR",
        default=None,
        help="the extension's source folder (default: extension/ of the checkout Hush runs from, else of "
        "the current folder)",
    )
    pack.set_defaults(handler=pack_command)


def pack_command(args: argparse.Namespace) -> int:
    source = Path(args.src) if args.src else default_source()
    written = pack(source, Path(args.out))
    for path in written:
        print(path)
    return 0


def default_source() -> Path:
    """extension/ of the checkout the code runs from (an editable install), else of the current folder:
    an installed copy (``pip install .``) has no extension/ beside it, and is run from the checkout."""
    for source in (CHECKOUT_SOURCE, Path.cwd() / "extension"):
        if (source / "manifest.json").is_file():
            return source
    raise CliError(
        "no extension/ folder here: run this from the root of Hush's repository, or pass --src DIR"
    )


def load_manifest(source: Path) -> dict[str, Any]:
    manifest_path = source / "manifest.json"
    if not source.is_dir():
        raise CliError(f"extension source folder not found: {source}")
    if not manifest_path.is_file():
        raise CliError(f"no manifest.json in {source}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CliError(f"{manifest_path} is not valid JSON: {err}") from None
    if not isinstance(manifest, dict):
        raise CliError(f"{manifest_path} is not a JSON object")
    version = manifest.get("version")
    if not isinstance(version, str) or not VERSION_RE.fullmatch(version):
        raise CliError(f"{manifest_path} has no valid version (like 1.2.3), got {version!r}")
    background = manifest.get("background")
    if not isinstance(background, dict) or "service_worker" not in background or "scripts" not in background:
        raise CliError(f"{manifest_path} needs background.service_worker and background.scripts")
    _references(manifest)  # every field naming files is of the shape browsers read
    return manifest


def chromium_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(manifest))
    out["background"] = {"service_worker": manifest["background"]["service_worker"]}
    out.pop("browser_specific_settings", None)
    return out


def firefox_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(manifest))
    out["background"] = {"scripts": list(manifest["background"]["scripts"])}
    return out


def source_files(source: Path) -> list[Path]:
    files = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if any(part.startswith(".") or part in SKIPPED_DIRS for part in rel.parts):
            continue
        if path.is_file() and path.suffix in PACKED_SUFFIXES and rel.as_posix() != "manifest.json":
            files.append(path)
    return files


def _write_zip(target: Path, manifest: dict[str, Any], source: Path, files: list[Path]) -> None:
    entries = [("manifest.json", (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))]
    entries += [(path.relative_to(source).as_posix(), path.read_bytes()) for path in files]
    missing = _missing_references(manifest, {name for name, _ in entries})
    if missing:
        raise CliError(f"the manifest names files that are not in {source}: {', '.join(sorted(missing))}")
    with (
        replaced_atomically(target) as tmp,
        zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
    ):
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the permissions above are read the same everywhere
            zf.writestr(info, data)


def _missing_references(manifest: dict[str, Any], names: set[str]) -> set[str]:
    return {ref for ref in _references(manifest) if ref not in names}


def _references(manifest: dict[str, Any]) -> set[str]:
    """The files the manifest names; CliError where a field is not of the shape browsers read."""
    refs: set[str] = set()
    background = _table(manifest, "background")
    if "service_worker" in background:
        refs.add(_text(background["service_worker"], "background.service_worker"))
    refs.update(_texts(background.get("scripts", []), "background.scripts"))
    scripts = manifest.get("content_scripts", [])
    if not isinstance(scripts, list) or not all(isinstance(s, dict) for s in scripts):
        raise CliError("manifest.json: content_scripts must be a list of objects")
    for script in scripts:
        refs.update(_texts(script.get("js", []), "content_scripts[].js"))
        refs.update(_texts(script.get("css", []), "content_scripts[].css"))
    refs.update(_icons(manifest.get("icons", {}), "icons"))
    action = _table(manifest, "action")
    if "default_popup" in action:
        refs.add(_text(action["default_popup"], "action.default_popup"))
    refs.update(_icons(action.get("default_icon", {}), "action.default_icon"))
    if "options_ui" in manifest:
        refs.add(_text(_table(manifest, "options_ui").get("page"), "options_ui.page"))
    return refs


def _table(manifest: dict[str, Any], key: str) -> dict[str, Any]:
    value = manifest.get(key, {})
    if not isinstance(value, dict):
        raise CliError(f"manifest.json: {key} must be an object")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise CliError(f"manifest.json: {where} must name a file")
    return value


def _texts(value: Any, where: str) -> list[str]:
    if not isinstance(value, list):
        raise CliError(f"manifest.json: {where} must be a list of file names")
    return [_text(item, where) for item in value]


def _icons(value: Any, where: str) -> list[str]:
    """An icon's file, or a table of them by size."""
    if isinstance(value, str):
        return [_text(value, where)]
    if not isinstance(value, dict):
        raise CliError(f"manifest.json: {where} must be a file name or an object of them by size")
    return [_text(item, where) for item in value.values()]


def pack(source: Path, out: Path) -> list[Path]:
    """Write both zips into ``out``; returns their paths."""
    manifest = load_manifest(source)
    files = source_files(source)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CliError(f"cannot create {out}: {err.strerror}") from None
    version = manifest["version"]
    written = []
    for browser, variant in (("chromium", chromium_manifest), ("firefox", firefox_manifest)):
        target = out / f"hush-{browser}-{version}.zip"
        try:
            _write_zip(target, variant(manifest), source, files)
        except OSError as err:
            raise CliError(f"cannot write {target}: {err.strerror}") from None
        written.append(target)
    return written
