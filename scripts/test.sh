#!/usr/bin/env bash
# Install what the tests need on a fresh Debian machine (Chromium, Firefox ESR, two npm tools where npm is,
# Python packages) and run them all.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's Chromium runs the extension in the browser tests; Debian's Firefox ESR (the extension asks for 140
# or newer) runs it in tests/test_extension_firefox.py.
PACKAGES=()
command -v chromium >/dev/null 2>&1 || PACKAGES+=(chromium)
command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1 || PACKAGES+=(firefox-esr)
if [ "${#PACKAGES[@]}" -gt 0 ]; then
    echo "test.sh: installing ${PACKAGES[*]} from Debian" >&2
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${PACKAGES[@]}" >/dev/null
fi

# Mozilla's add-ons linter checks the Firefox zip (tests/test_extension_pack.py) where Node's npm is here.
LINTER=.tools/addons-linter
if command -v npm >/dev/null 2>&1 && [ ! -x "$LINTER/node_modules/.bin/addons-linter" ]; then
    echo "test.sh: installing addons-linter from npm" >&2
    npm install --silent --no-audit --no-fund --prefix "$LINTER" addons-linter@10.14.0 >/dev/null
fi
# puppeteer-core drives Firefox over WebDriver BiDi for tests/test_extension_firefox.py.
PUPPETEER=.tools/puppeteer
if command -v npm >/dev/null 2>&1 && [ ! -d "$PUPPETEER/node_modules/puppeteer-core" ]; then
    echo "test.sh: installing puppeteer-core from npm" >&2
    npm install --silent --no-audit --no-fund --prefix "$PUPPETEER" puppeteer-core@24.43.1 >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'
python3 -m ruff check .
python3 -m pytest "$@"
