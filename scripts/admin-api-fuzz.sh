#!/usr/bin/env bash
# OpenAPI-driven fuzzing of the admin REST API (issue 15, H4) with schemathesis: installs the
# pinned schemathesis from PyPI into .tools/schemathesis (a venv), starts `lanyard serve` on a
# free loopback port with a throwaway SQLite database and configuration, registers an admin
# client with the CLI, gets a `lanyard:admin` token by client credentials, and runs
# schemathesis against /admin/api/openapi.json, bounded in examples and time. It fails on a
# 5xx (`not_a_server_error`) or an answer its document does not describe
# (`response_schema_conformance`).
#   scripts/admin-api-fuzz.sh [max-examples]   (default 25; the run is cut at 170 s)
#   LANYARD_BIN=path/to/lanyard scripts/admin-api-fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
version=4.32.5
examples=${1:-25}

venv=.tools/schemathesis
if [ "$("$venv/bin/st" --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1)" != "$version" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

# LANYARD_BIN: an already built `lanyard` to use instead of building one.
bin=${LANYARD_BIN:-}
if [ -z "$bin" ]; then
    cargo build -q -p lanyard-server
    bin=${CARGO_TARGET_DIR:-$PWD/target}/debug/lanyard
fi

work=$(mktemp -d)
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
cat > "$work/lanyard.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
issuer = "$base"
data_dir = "$work/data"
TOML
export LANYARD_CONFIG="$work/lanyard.toml"
# Only this run's settings: nothing from the caller's environment.
unset LANYARD_DATABASE_URL LANYARD_REDIS_URL LANYARD_ISSUER LANYARD_DATA_DIR

secret=$("$bin" client create --id fuzz-admin --grant client_credentials \
    --auth client_secret_basic --scope lanyard:admin --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')

"$bin" serve >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    curl -fsS "$base/readyz" >/dev/null 2>&1 && break
    sleep 0.2
done

# A token lives an hour by default: enough for the bounded run.
token=$(curl -fsS -u "fuzz-admin:$secret" -d grant_type=client_credentials \
    --data-urlencode "audience=$base/admin/api" "$base/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

status=0
timeout 170 "$venv/bin/st" run "$base/admin/api/openapi.json" \
    --url "$base" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "$examples" \
    --workers 1 \
    --seed 15 || status=$?
if [ "$status" -ne 0 ]; then
    echo "schemathesis failed ($status); the server's log:" >&2
    tail -50 "$work/serve.log" >&2
fi
exit "$status"
