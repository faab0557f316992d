#!/usr/bin/env bash
# Site import benchmark (issue 13): `lanyard site import` of BENCH_USERS (default 100,000)
# legacy users, on SQLite (embedded default) and on PostgreSQL, from a CSV and from a JSON
# file, then the same file again (every row found unchanged: the idempotent re-run).
#
# The users file is made by scripts/legacy-hashes/make.py with the PyPI reference
# implementations (bcrypt, passlib, argon2-cffi; a venv under $CARGO_TARGET_DIR) at LOW costs
# (bcrypt 4, PBKDF2 1,000 rounds, argon2id m=1024 t=1 p=1), one TOTP secret in ten; it is
# cached under $CARGO_TARGET_DIR/bench-import/ for the next run.
#
# What is measured: the wall time of the whole command (process start, reading and checking
# every row, comparing with the site's users, one transaction of batched inserts: the site
# users, their principal accounts, the TOTP credentials). Password hashes are NOT checked at
# import: only their format and cost are parsed (there is no password to check them with
# until each user signs in), so the hash costs above do not change the import's speed.
#
#   bash scripts/bench-import.sh                      # full run (release build)
#   BENCH_USERS=10000 BENCH_PROFILE=dev bash scripts/bench-import.sh   # smoke run
#
# Environment:
#   BENCH_USERS          users in the file (default 100000)
#   BENCH_BACKENDS       "sqlite postgres" (default), or one of them
#   BENCH_PROFILE        cargo profile to build and run (default release)
#   BENCH_SKIP_BUILD=1   use LANYARD_BIN as it is
#   LANYARD_BIN          the lanyard binary (default $CARGO_TARGET_DIR/<profile>/lanyard)
#   BENCH_PG_ADMIN_URL   where to create the throwaway database
#                        (default postgres://postgres@127.0.0.1:5432/postgres)
#   BENCH_OUT            directory for the results file (default bench-results/)
set -euo pipefail

BENCH_NAME=bench-import
# shellcheck source=scripts/bench/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"

USERS="${BENCH_USERS:-100000}"
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
PROFILE="${BENCH_PROFILE:-release}"
PG_ADMIN_URL="${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
OUT="${BENCH_OUT:-$ROOT/bench-results}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
LANYARD_BIN="${LANYARD_BIN:-$(bench_bin_dir "$PROFILE")/lanyard}"

bench_scrub_env
WORK="$(bench_work_dir)"
trap 'bench_pg_drop; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# --- the users file ----------------------------------------------------------------------
CACHE="$TARGET/bench-import"
VENV="$TARGET/legacy-venv"
mkdir -p "$CACHE"
bench_legacy_venv "$VENV"
CSV="$CACHE/users-$USERS.csv"
JSON="$CACHE/users-$USERS.json"
if [ ! -s "$CSV" ] || [ ! -s "$JSON" ]; then
    log "making $CSV and $JSON (the same $USERS users, low-cost hashes)"
    t0="$(date +%s)"
    "$VENV/bin/python" scripts/legacy-hashes/make.py users "$USERS" "$CSV" "$JSON" --totp-every 10
    log "   made in $(($(date +%s) - t0)) s"
fi

# --- build -------------------------------------------------------------------------------
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    # With the sign-in driver, as bench-login.sh builds: the driver's lanyard-testkit turns on
    # features of dependencies the server shares (bitflags' std, for one), so a server built
    # alone would be rebuilt for `just bench-import`'s login half.
    log "cargo build --profile $PROFILE -p lanyard-server -p lanyard-bench-signin"
    cargo build --profile "$PROFILE" -p lanyard-server -p lanyard-bench-signin >&2
fi
[ -x "$LANYARD_BIN" ] || die "no binary at $LANYARD_BIN"

# --- runs --------------------------------------------------------------------------------
RESULTS="$WORK/results"
: >"$RESULTS"

enter_backend() {
    local backend="$1"
    export LANYARD_DATA_DIR="$WORK/$backend-data"
    export LANYARD_ISSUER="http://127.0.0.1:1"
    unset LANYARD_DATABASE_URL
    mkdir -p "$LANYARD_DATA_DIR"
    if [ "$backend" = postgres ]; then bench_pg_create; fi
    # Schema and keys first, so the timed commands do only the import.
    "$LANYARD_BIN" migrate >/dev/null 2>&1
    "$LANYARD_BIN" site list >/dev/null 2>&1
}

# timed BACKEND FORMAT RUN SITE FILE: one import, its wall time and what it reported.
timed() {
    local backend="$1" format="$2" run="$3" site="$4" file="$5" t0 t1 out
    t0="$(date +%s.%N)"
    out="$("$LANYARD_BIN" site import --site "$site" "$file" --json)" || die "import failed"
    t1="$(date +%s.%N)"
    local added unchanged
    added="$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["added"])')"
    unchanged="$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["unchanged"])')"
    awk -v b="$backend" -v f="$format" -v r="$run" -v a="$added" -v u="$unchanged" \
        -v t0="$t0" -v t1="$t1" -v n="$USERS" -v load1="$(cut -d' ' -f1 /proc/loadavg)" \
        'BEGIN { s = t1 - t0; printf "%s %s %s %d %d %.2f %.0f %s\n", b, f, r, a, u, s, n / s, load1 }' \
        | tee -a "$RESULTS" >&2
}

for backend in $BACKENDS; do
    log "$backend"
    enter_backend "$backend"
    "$LANYARD_BIN" site create --slug bench-csv --name "Bench CSV" >/dev/null
    "$LANYARD_BIN" site create --slug bench-json --name "Bench JSON" >/dev/null
    timed "$backend" csv first bench-csv "$CSV"
    timed "$backend" csv again bench-csv "$CSV"
    timed "$backend" json first bench-json "$JSON"
    timed "$backend" json again bench-json "$JSON"
    bench_pg_drop
done

mkdir -p "$OUT"
REPORT="$OUT/bench-import-$(date -u +%Y%m%dT%H%M%SZ).md"
{
    echo "# bench-import: $USERS users, profile $PROFILE, $(git rev-parse --short HEAD) ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "| backend | format | run | added | unchanged | seconds | users/s | load1 |"
    echo "|---|---|---|---:|---:|---:|---:|---:|"
    awk '{ printf "| %s | %s | %s | %d | %d | %.2f | %d | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$RESULTS"
} >"$REPORT"
cat "$REPORT"
echo "(written to $REPORT)" >&2
