#!/usr/bin/env bash
# Headless-browser accessibility test: prepares a throwaway Lanyard data dir (account and
# clients through the CLI), then runs a11y.test.mjs, which starts an SMTP sink and
# `lanyard serve`, drives Debian's Chromium through sign-in, the second step and the
# security pages, and runs axe-core on every page (see README.md). For "sign in with your
# organization" it also starts the test IdP (tests/idp, oidc-provider on loopback) and makes
# it organization acme's provider through the CLI; the IdP is stopped when the run ends.
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
idp_pid=""
cleanup() {
  # The test IdP: it also exits by itself once its stdin (this shell's coproc pipe) closes.
  if [[ -n "$idp_pid" ]] && kill -0 "$idp_pid" 2>/dev/null; then
    kill "$idp_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$idp_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$idp_pid" 2>/dev/null || true
  fi
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
# The test IdP's issuer is plain http on loopback (set-sso and serve both check it).
export LANYARD_FEDERATION__ALLOW_HTTP_LOOPBACK=true
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
  if [[ -s "$tmp/idp.log" ]]; then
    echo "---- test IdP log (last 30 lines) ----" >&2
    tail -n 30 "$tmp/idp.log" >&2
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

# "Sign in with your organization" (steps/60-federation.mjs): the test IdP (tests/idp,
# panva's oidc-provider) with one client, Lanyard's, whose URIs are under this run's issuer
# (known now: the port was picked above), and one user; then organization acme with the
# verified domain corp.example and the IdP as its provider, through the CLI.
idp_dir="$repo/tests/idp"
idp_stamp="$idp_dir/node_modules/.lanyard-lock-stamp"
if [[ ! -f "$idp_stamp" ]] || ! cmp -s "$idp_dir/package-lock.json" "$idp_stamp"; then
  npm ci --prefix "$idp_dir" --no-audit --no-fund --loglevel=error >/dev/null || fail "npm ci --prefix tests/idp failed"
  cp "$idp_dir/package-lock.json" "$idp_stamp"
fi
idp_secret="$(node -e 'process.stdout.write(require("node:crypto").randomBytes(24).toString("base64url"))')"
(umask 077 && printf '%s\n' "$idp_secret" >"$tmp/idp-client-secret")
cat >"$tmp/idp.json" <<JSON
{
  "clients": [{
    "client_id": "lanyard",
    "client_secret": "$idp_secret",
    "redirect_uris": ["$issuer/federation/acme/callback"],
    "post_logout_redirect_uris": ["$issuer/federation/acme/logged-out"],
    "backchannel_logout_uri": "$issuer/federation/acme/backchannel-logout",
    "backchannel_logout_session_required": true
  }],
  "users": [
    {"sub": "ann-fed", "email": "ann@corp.example", "email_verified": true, "name": "Ann Fed"}
  ]
}
JSON
# A coproc: its stdin is a pipe this shell holds, so the IdP also exits when this shell does
# (however it ends); cleanup() stops it by pid first. stdout carries only the ready line.
coproc IDP { exec node "$idp_dir/idp.mjs" "$tmp/idp.json" 2>>"$tmp/idp.log"; }
idp_pid="$IDP_PID"
idp_line=""
IFS= read -r -t 30 idp_line <&"${IDP[0]}" || fail "the test IdP did not start (see its log below)"
idp_issuer="$(printf '%s' "$idp_line" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).issuer))')"
[[ "$idp_issuer" == http://127.0.0.1:* ]] || fail "the test IdP printed $idp_line"

"$BIN" org create --slug acme --name "Acme Corp" >>"$log" 2>&1 || fail "org create failed"
"$BIN" org add-domain --org acme --domain corp.example >>"$log" 2>&1 || fail "org add-domain failed"
"$BIN" org verify-domain --org acme --domain corp.example --override >>"$log" 2>&1 ||
  fail "org verify-domain failed"
"$BIN" org set-sso --org acme --issuer "$idp_issuer" --client-id lanyard \
  --client-secret-file "$tmp/idp-client-secret" >>"$log" 2>&1 || fail "org set-sso failed"

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
export BROWSER_IDP_ISSUER="$idp_issuer"

status=0
(cd "$here" && timeout --kill-after=10 "${BROWSER_TIMEOUT:-600}" \
  node --test --test-reporter=spec --test-timeout=180000 a11y.test.mjs) || status=$?
if [[ $status -ne 0 ]]; then
  [[ $status -eq 124 ]] && echo "browser: timed out after ${BROWSER_TIMEOUT:-600} s" >&2
  fail "node --test exited with $status"
fi
