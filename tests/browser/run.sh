#!/usr/bin/env bash
# Headless-browser accessibility test: prepares a throwaway Lanyard data dir (account and
# clients through the CLI), then runs a11y.test.mjs, which starts an SMTP sink and
# `lanyard serve`, drives Debian's Chromium through sign-in, the second step and the
# security pages, and runs axe-core on every page (see README.md).
# Usage: bash tests/browser/run.sh
#
# Env: LANYARD_BIN (default <repo>/target/debug/lanyard); LANYARD_DATABASE_URL and
# LANYARD_REDIS_URL are passed through (postgres:// → `lanyard migrate` first);
# BROWSER_CHROMIUM (default /usr/bin/chromium; scripts/install-browser.sh installs it);
# BROWSER_TIMEOUT (seconds for the node run, default 600); BROWSER_ARTIFACTS (folder for a
# screenshot + HTML of the page where a step failed; default: none kept); BROWSER_SCREENSHOTS
# (folder for screenshots of every checked page at both widths in both colour schemes;
# default target/browser-screens/<sqlite|postgres>, emptied first; `off`: none taken, axe
# still runs at both widths in both schemes).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
BIN="${LANYARD_BIN:-$repo/target/debug/lanyard}"
case "$BIN" in /*) ;; *) BIN="$PWD/$BIN" ;; esac
if [[ ! -x "$BIN" ]]; then
  echo "browser: no lanyard binary at $BIN (cargo build -p lanyard-server, or set LANYARD_BIN)" >&2
  exit 1
fi
CHROMIUM="${BROWSER_CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM" ]]; then
  echo "browser: no Chromium at $CHROMIUM (run scripts/install-browser.sh, or set BROWSER_CHROMIUM)" >&2
  exit 1
fi
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "browser: $tool is required" >&2; exit 1; }
done
backend=sqlite
case "${LANYARD_DATABASE_URL:-}" in postgres://* | postgresql://*) backend=postgres ;; esac
BROWSER_SCREENSHOTS="${BROWSER_SCREENSHOTS:-$repo/target/browser-screens/$backend}"
if [[ "$BROWSER_SCREENSHOTS" == off ]]; then
  BROWSER_SCREENSHOTS=""
else
  case "$BROWSER_SCREENSHOTS" in /*) ;; *) BROWSER_SCREENSHOTS="$PWD/$BROWSER_SCREENSHOTS" ;; esac
  rm -rf "$BROWSER_SCREENSHOTS"
  mkdir -p "$BROWSER_SCREENSHOTS"
fi
export BROWSER_SCREENSHOTS
if [[ -n "${BROWSER_ARTIFACTS:-}" ]]; then
  case "$BROWSER_ARTIFACTS" in /*) ;; *) BROWSER_ARTIFACTS="$PWD/$BROWSER_ARTIFACTS" ;; esac
  export BROWSER_ARTIFACTS
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/lanyard-browser.XXXXXX")"
own_redis_prefix=""
cleanup() {
  # The test stops the server itself; this is for a test killed by the timeout.
  if [[ -s "$tmp/server.pid" ]]; then
    pid="$(cat "$tmp/server.pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  # Keys under a prefix this script made up (a caller's own prefix is the caller's to clean).
  if [[ -n "$own_redis_prefix" ]] && command -v redis-cli >/dev/null; then
    timeout 10 redis-cli -u "$LANYARD_REDIS_URL" --scan --pattern "${own_redis_prefix}*" |
      timeout 10 xargs -r redis-cli -u "$LANYARD_REDIS_URL" del >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Free loopback ports: one for the server, one that only names the RP's redirect URI (nothing
# listens there: the browser's request to it is answered inside the browser). The SMTP sink
# takes its own port when the test starts it.
read -r port rp_port < <(node -e '
  const net = require("node:net");
  const grab = () => new Promise((ok, ko) => {
    const s = net.createServer().on("error", ko);
    s.listen(0, "127.0.0.1", () => ok(s));
  });
  (async () => {
    const a = await grab(), b = await grab();
    console.log(a.address().port, b.address().port);
    a.close(); b.close();
  })();
')

cd "$tmp"
issuer="http://127.0.0.1:$port"
export LANYARD_DATA_DIR="$tmp/data"
export LANYARD_LISTEN="127.0.0.1:$port"
export LANYARD_ISSUER="$issuer"
export LANYARD_SERVER__DATA_DIR="$LANYARD_DATA_DIR"
export LANYARD_SERVER__LISTEN="$LANYARD_LISTEN"
export LANYARD_SERVER__ISSUER="$LANYARD_ISSUER"
if [[ -n "${LANYARD_DATABASE_URL:-}" ]]; then
  export LANYARD_DATABASE_URL
  export LANYARD_DATABASE__URL="$LANYARD_DATABASE_URL"
fi
if [[ -n "${LANYARD_REDIS_URL:-}" ]]; then
  export LANYARD_REDIS_URL
  export LANYARD_EPHEMERAL__REDIS_URL="$LANYARD_REDIS_URL"
  # A Redis shared between runs: keep this run's keys apart.
  if [[ -z "${LANYARD_EPHEMERAL__REDIS_PREFIX:-}" ]]; then
    own_redis_prefix="lanyard-browser-$port:"
    export LANYARD_EPHEMERAL__REDIS_PREFIX="$own_redis_prefix"
  fi
fi
# Defaults + the environment, and one config file with what the environment can not say:
# an API for the personal access token page (its name and scope descriptions).
cat >"$tmp/lanyard.toml" <<'TOML'
[[resources]]
identifier = "api.example.com"
scopes = ["repo:read", "repo:write"]
name = "Example API"
description = "Repositories and their issues."
[resources.scope_descriptions]
"repo:read" = "Read your repositories"
"repo:write" = "Change your repositories"
TOML
export LANYARD_CONFIG="$tmp/lanyard.toml"
mkdir -p "$LANYARD_DATA_DIR"

log="$tmp/server.log"
: >"$log"
fail() {
  echo "browser: $*" >&2
  if [[ -s "$log" ]]; then
    echo "---- server log (last 80 lines) ----" >&2
    tail -n 80 "$log" >&2
  fi
  exit 1
}

case "${LANYARD_DATABASE_URL:-}" in
  postgres://* | postgresql://*)
    "$BIN" migrate >>"$log" 2>&1 || fail "lanyard migrate failed"
    ;;
esac

email="browser@example.com"
password="browser-password-123"
printf '%s' "$password" |
  "$BIN" user create --email "$email" --name "Browser Test" --password-stdin --json >"$tmp/user.json" 2>>"$log" ||
  fail "user create failed"

redirect_uri="http://127.0.0.1:$rp_port/cb"
# Public clients (PKCE, no secret): the test exchanges each code at /token.
"$BIN" client create --id browser-fp --name "Browser first-party" --first-party \
  --redirect-uri "$redirect_uri" --grant authorization_code --auth none \
  --scope openid --scope email --scope profile --json >"$tmp/fp.json" 2>>"$log" ||
  fail "client create browser-fp failed"
"$BIN" client create --id browser-rp --name "Example App" \
  --redirect-uri "$redirect_uri" --grant authorization_code --auth none \
  --scope openid --scope email --scope profile --json >"$tmp/rp.json" 2>>"$log" ||
  fail "client create browser-rp failed"

# Dependencies from the committed lock file; again only when the lock changed.
stamp="$here/node_modules/.lanyard-lock-stamp"
if [[ ! -f "$stamp" ]] || ! cmp -s "$here/package-lock.json" "$stamp"; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || fail "npm ci failed"
  cp "$here/package-lock.json" "$stamp"
fi

export LANYARD_BIN="$BIN"
export BROWSER_ISSUER="$issuer" BROWSER_TMP="$tmp" BROWSER_SERVER_LOG="$log" BROWSER_CHROMIUM="$CHROMIUM"
export BROWSER_CLIENT_ID=browser-fp BROWSER_THIRD_PARTY_CLIENT_ID=browser-rp
export BROWSER_REDIRECT_URI="$redirect_uri"
export BROWSER_EMAIL="$email" BROWSER_PASSWORD="$password"

status=0
(cd "$here" && timeout --kill-after=10 "${BROWSER_TIMEOUT:-600}" \
  node --test --test-reporter=spec --test-timeout=180000 a11y.test.mjs) || status=$?
if [[ $status -ne 0 ]]; then
  [[ $status -eq 124 ]] && echo "browser: timed out after ${BROWSER_TIMEOUT:-600} s" >&2
  fail "node --test exited with $status"
fi
