#!/usr/bin/env bash
# Black-box interop suite: starts a throwaway Lanyard server and drives it with the
# openid-client npm package (see README.md). Usage: bash tests/interop/run.sh
#
# Env: LANYARD_BIN (default <repo>/target/debug/lanyard); LANYARD_DATABASE_URL and
# LANYARD_REDIS_URL are passed through (postgres:// → `lanyard migrate` first);
# INTEROP_TIMEOUT (seconds for the node run, default 300).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
BIN="${LANYARD_BIN:-$repo/target/debug/lanyard}"
case "$BIN" in /*) ;; *) BIN="$PWD/$BIN" ;; esac
if [[ ! -x "$BIN" ]]; then
  echo "interop: no lanyard binary at $BIN (cargo build -p lanyard-server, or set LANYARD_BIN)" >&2
  exit 1
fi
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "interop: $tool is required" >&2; exit 1; }
done

tmp="$(mktemp -d "${TMPDIR:-/tmp}/lanyard-interop.XXXXXX")"
server_pid=""
own_redis_prefix=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
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

# Free loopback ports: one for the server, one that only names the RP's redirect URI
# (nothing listens there: the suite reads the redirect's Location), and one where the suite
# listens for back-channel logout tokens.
read -r port rp_port bc_port < <(node -e '
  const net = require("node:net");
  const grab = () => new Promise((ok, ko) => {
    const s = net.createServer().on("error", ko);
    s.listen(0, "127.0.0.1", () => ok(s));
  });
  (async () => {
    const a = await grab(), b = await grab(), c = await grab();
    console.log(a.address().port, b.address().port, c.address().port);
    a.close(); b.close(); c.close();
  })();
')

cd "$tmp"
issuer="http://127.0.0.1:$port"
export LANYARD_DATA_DIR="$tmp/data"
export LANYARD_LISTEN="127.0.0.1:$port"
export LANYARD_ISSUER="$issuer"
# The same settings by their full key names (LANYARD_<SECTION>__<KEY>); these are honoured
# even by builds where the short aliases above are not.
export LANYARD_SERVER__DATA_DIR="$LANYARD_DATA_DIR"
export LANYARD_SERVER__LISTEN="$LANYARD_LISTEN"
export LANYARD_SERVER__ISSUER="$LANYARD_ISSUER"
# The suite signs the same account in many times within a minute: lift the per-account and
# per-address limits on emailed codes (their rules are tested in the Rust suites).
export LANYARD_MFA__SENDS_PER_HOUR=1000
export LANYARD_MFA__SENDS_PER_HOUR_PER_IP=1000
if [[ -n "${LANYARD_DATABASE_URL:-}" ]]; then
  export LANYARD_DATABASE_URL
  export LANYARD_DATABASE__URL="$LANYARD_DATABASE_URL"
fi
if [[ -n "${LANYARD_REDIS_URL:-}" ]]; then
  export LANYARD_REDIS_URL
  export LANYARD_EPHEMERAL__REDIS_URL="$LANYARD_REDIS_URL"
  # A Redis shared between runs: keep this run's keys apart (under the caller's prefix if
  # it set one, else under one made up here and removed on exit).
  if [[ -z "${LANYARD_EPHEMERAL__REDIS_PREFIX:-}" ]]; then
    own_redis_prefix="lanyard-interop-$port:"
    export LANYARD_EPHEMERAL__REDIS_PREFIX="$own_redis_prefix"
  fi
fi
# Back-channel logout: the sender looks for due notices every 100 ms, so the test that
# waits for a logout token waits a fraction of a second.
export LANYARD_BACKCHANNEL__POLL_INTERVAL_MS=100
# The device flow test polls: a short interval keeps it quick (1–60 s are allowed).
export LANYARD_TOKENS__DEVICE_POLL_INTERVAL_SECS=1
# Defaults + the environment above, and one config file for what only a file can hold: the
# API that PATs are exchanged for (`[[resources]]` is a list of tables).
export LANYARD_CONFIG="$tmp/lanyard.toml"
cat >"$LANYARD_CONFIG" <<'TOML'
[[resources]]
identifier = "api.example.com"
scopes = ["repo:read", "repo:write"]
TOML
mkdir -p "$LANYARD_DATA_DIR"

log="$tmp/server.log"
fail() {
  echo "interop: $*" >&2
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

json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];if(v===undefined)process.exit(1);console.log(v)})' "$1"; }

email="interop@example.com"
password="interop-password-123"
printf '%s' "$password" |
  "$BIN" user create --email "$email" --name Interop --password-stdin --json >"$tmp/user.json" 2>>"$log" ||
  fail "user create failed"

redirect_uri="http://127.0.0.1:$rp_port/cb"
post_logout_uri="http://127.0.0.1:$rp_port/logged-out"
"$BIN" client create --id rp --name "Interop RP" \
  --redirect-uri "$redirect_uri" --post-logout-redirect-uri "$post_logout_uri" \
  --grant authorization_code,refresh_token,client_credentials,urn:ietf:params:oauth:grant-type:token-exchange \
  --auth client_secret_basic \
  --scope openid --scope email --scope profile --scope api --json >"$tmp/rp.json" 2>>"$log" ||
  fail "client create rp failed"
"$BIN" client create --id rp-first-party --name "Interop first-party" --first-party \
  --redirect-uri "$redirect_uri" \
  --grant authorization_code,refresh_token --auth client_secret_basic \
  --scope openid --scope email --scope profile --json >"$tmp/fp.json" 2>>"$log" ||
  fail "client create rp-first-party failed"
# A relying party that registered for back-channel logout (OIDC Back-Channel Logout 1.0),
# with the session's sid in its logout tokens; the suite listens on bc_port.
backchannel_uri="http://127.0.0.1:$bc_port/backchannel"
"$BIN" client create --id rp-bc --name "Interop back-channel RP" \
  --redirect-uri "$redirect_uri" --post-logout-redirect-uri "$post_logout_uri" \
  --grant authorization_code --auth client_secret_basic \
  --backchannel-logout-uri "$backchannel_uri" --backchannel-logout-session-required \
  --scope openid --scope email --scope profile --json >"$tmp/bc.json" 2>>"$log" ||
  fail "client create rp-bc failed"
# Public clients: a command-line tool that exchanges PATs (RFC 8693), and a device that
# signs in with the device authorization grant (RFC 8628).
"$BIN" client create --id tool --name "Interop tool" --auth none \
  --grant urn:ietf:params:oauth:grant-type:token-exchange --json >/dev/null 2>>"$log" ||
  fail "client create tool failed"
"$BIN" client create --id device --name "Interop device" --auth none \
  --grant urn:ietf:params:oauth:grant-type:device_code,refresh_token \
  --scope openid --scope email --json >/dev/null 2>>"$log" ||
  fail "client create device failed"
# Two PATs: one to exchange, one the suite revokes. Each `--json` answer (the token is in it,
# shown this once) goes to an owner-only file; node reads the files, never argv.
(
  umask 077
  for name in exchange revoke; do
    "$BIN" pat create --user "$email" --name "interop-$name" --scope repo:read --json \
      >"$tmp/pat-$name.json" 2>>"$log" || exit 1
  done
) || fail "pat create failed"
rp_secret="$(json_field client_secret <"$tmp/rp.json")" || fail "no client_secret in $(cat "$tmp/rp.json")"
fp_secret="$(json_field client_secret <"$tmp/fp.json")" || fail "no client_secret in $(cat "$tmp/fp.json")"
bc_secret="$(json_field client_secret <"$tmp/bc.json")" || fail "no client_secret in $(cat "$tmp/bc.json")"

healthy() {
  if command -v curl >/dev/null; then
    curl -fsS --max-time 1 "$issuer/healthz" >/dev/null 2>&1
  else
    node -e 'fetch(process.argv[1],{signal:AbortSignal.timeout(1000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$issuer/healthz"
  fi
}

"$BIN" serve >>"$log" 2>&1 &
server_pid=$!
ready=""
for _ in $(seq 1 100); do
  kill -0 "$server_pid" 2>/dev/null || fail "server exited during start-up"
  if healthy; then ready=1; break; fi
  sleep 0.1
done
[[ -n "$ready" ]] || fail "server did not answer $issuer/healthz within 10 s"

if [[ ! -d "$here/node_modules/openid-client" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund) || fail "npm ci failed"
fi

export INTEROP_ISSUER="$issuer"
export INTEROP_CLIENT_ID=rp INTEROP_CLIENT_SECRET="$rp_secret"
export INTEROP_FP_CLIENT_ID=rp-first-party INTEROP_FP_CLIENT_SECRET="$fp_secret"
export INTEROP_REDIRECT_URI="$redirect_uri" INTEROP_POST_LOGOUT_REDIRECT_URI="$post_logout_uri"
export INTEROP_EMAIL="$email" INTEROP_PASSWORD="$password"
export INTEROP_EXCHANGE_CLIENT_ID=tool INTEROP_PAT_AUDIENCE=api.example.com
export INTEROP_PAT_FILE="$tmp/pat-exchange.json" INTEROP_REVOKE_PAT_FILE="$tmp/pat-revoke.json"
export INTEROP_DEVICE_CLIENT_ID=device
export INTEROP_BC_CLIENT_ID=rp-bc INTEROP_BC_CLIENT_SECRET="$bc_secret" INTEROP_BC_PORT="$bc_port"
# The suite revokes a PAT with the CLI while the server runs (same environment).
export INTEROP_LANYARD_BIN="$BIN"

status=0
(cd "$here" && timeout --kill-after=10 "${INTEROP_TIMEOUT:-300}" \
  node --test --test-reporter=spec --test-timeout=60000 openid-client.test.mjs) || status=$?
kill -0 "$server_pid" 2>/dev/null || fail "the server died during the run"
if [[ $status -ne 0 ]]; then
  [[ $status -eq 124 ]] && echo "interop: timed out after ${INTEROP_TIMEOUT:-300} s" >&2
  fail "node --test exited with $status"
fi
