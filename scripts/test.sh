#!/usr/bin/env bash
# Install what the tests need on a fresh Debian machine (Chromium, Python packages) and run them all.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
    echo "test.sh: installing Chromium from Debian" >&2
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# Mozilla's add-ons linter checks the Firefox zip (tests/test_extension_pack.py) where Node's npm is here.
LINTER=.tools/addons-linter
if command -v npm >/dev/null 2>&1 && [ ! -x "$LINTER/node_modules/.bin/addons-linter" ]; then
    echo "test.sh: installing addons-linter from npm" >&2
    npm install --silent --no-audit --no-fund --prefix "$LINTER" addons-linter@10.14.0 >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'
python3 -m ruff check .
python3 -m pytest "$@"
