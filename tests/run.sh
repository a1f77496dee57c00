#!/usr/bin/env bash
# Sets up everything the test suite needs on a fresh machine, then runs it.
#   - Debian's chromium for the browser tests (Playwright drives /usr/bin/chromium; never `playwright install`)
#   - a virtualenv in .venv with the pinned runtime and test requirements
# Extra arguments go to pytest (e.g. `bash tests/run.sh tests/feeds -x`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r tests/requirements.txt

exec .venv/bin/python -m pytest "$@"
