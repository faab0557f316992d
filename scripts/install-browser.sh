#!/usr/bin/env bash
# Installs the browser the headless accessibility test (tests/browser) drives: Debian's
# Chromium and ChromeDriver (/usr/bin/chromium, /usr/bin/chromedriver). Idempotent: does
# nothing when /usr/bin/chromium is already there. Non-interactive; uses sudo only when not
# root. Playwright's own browser download is never used (the machine has no route to it).
#   scripts/install-browser.sh
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
    echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
    exit 0
fi

if ! command -v apt-get >/dev/null; then
    echo "install-browser: no apt-get here; install Chromium so that /usr/bin/chromium exists" >&2
    exit 1
fi

as_root=()
if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-browser: not root and no sudo" >&2; exit 1; }
    as_root=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver

if [[ ! -x /usr/bin/chromium ]]; then
    echo "install-browser: apt-get finished but /usr/bin/chromium is missing" >&2
    exit 1
fi
echo "install-browser: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
