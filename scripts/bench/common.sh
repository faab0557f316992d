# shellcheck shell=bash
# Shared by the bench scripts (bench-token.sh, bench-exchange.sh, bench-login.sh,
# bench-import.sh): sourced, not run. Before sourcing, set BENCH_NAME (used in error messages
# and in the names of what is made here). Sourcing sets ROOT, the repository, and goes there.
# The throwaway-store helpers below read PG_ADMIN_URL and REDIS_URL, and keep what they made
# in PG_DB and REDIS_PREFIX, for the clean-up.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1

die() {
    echo "$BENCH_NAME: $*" >&2
    exit 1
}
log() { echo "== $*" >&2; }

# Only the settings the script makes reach the server (LANYARD_BIN and LANYARD_LOG are the
# caller's): a LANYARD_* left in the shell would otherwise change what is measured.
bench_scrub_env() {
    local var
    for var in $(compgen -e | grep "^LANYARD_" || true); do
        case "$var" in LANYARD_BIN | LANYARD_LOG) ;; *) unset "$var" ;; esac
    done
}

# wrk from the Debian package when missing (as root), else a clear error.
bench_require_wrk() {
    command -v wrk >/dev/null && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing wrk (Debian package)"
        apt-get install -y wrk >/dev/null 2>&1 ||
            { apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1; } ||
            die "could not install wrk; install it (apt-get install wrk) and rerun"
    else
        die "wrk is not installed; install it (apt-get install wrk) and rerun"
    fi
}

# bench_bin_dir PROFILE: where cargo puts a profile's binaries ($CARGO_TARGET_DIR, else
# target/; the dev profile's folder is debug).
bench_bin_dir() {
    local profile="$1"
    [ "$profile" = dev ] && profile=debug
    echo "${CARGO_TARGET_DIR:-$ROOT/target}/$profile"
}

# bench_build_signin PROFILE: builds lanyard and the sign-in driver (unless BENCH_SKIP_BUILD=1)
# and checks that LANYARD_BIN and DRIVER are there (bench-login.sh, bench-signin.sh).
bench_build_signin() {
    if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
        log "cargo build --profile $1 -p lanyard-server -p lanyard-bench-signin"
        cargo build --profile "$1" -p lanyard-server -p lanyard-bench-signin >&2
    fi
    [ -x "$LANYARD_BIN" ] || die "no binary at $LANYARD_BIN"
    [ -x "$DRIVER" ] || die "no driver at $DRIVER"
}

# bench_work_dir: a private temporary folder (0700: PATs, client secrets and passwords are
# kept there), printed.
bench_work_dir() {
    local dir
    dir="$(mktemp -d "${TMPDIR:-/tmp}/$BENCH_NAME.XXXXXX")"
    chmod 700 "$dir"
    echo "$dir"
}

# --- processes -----------------------------------------------------------------------------

# A free loopback port.
bench_free_port() {
    local port
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    die "no free port found"
}

# bench_server_env DATA_DIR URL CONFIG: the environment of the CLI and the server: their data
# folder (made here), the listen address and issuer (URL, on loopback) and the config file; the
# embedded store until bench_pg_create / bench_redis_prefix say otherwise.
bench_server_env() {
    export LANYARD_DATA_DIR="$1"
    export LANYARD_LISTEN="${2#http://}"
    export LANYARD_ISSUER="$2"
    export LANYARD_CONFIG="$3"
    unset LANYARD_DATABASE_URL LANYARD_REDIS_URL LANYARD_EPHEMERAL__REDIS_PREFIX
    mkdir -p "$LANYARD_DATA_DIR"
}

# bench_wait_ready URL PID LOG [NAME [SECONDS]]: until URL answers, or die with the log's tail
# when the process (NAME, default "the server") exits or SECONDS (default 60) pass.
bench_wait_ready() {
    local name="${4:-the server}" limit="${5:-60}"
    for _ in $(seq $((limit * 10))); do
        kill -0 "$2" 2>/dev/null || { tail -20 "$3" >&2; die "$name exited during start-up"; }
        if curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null; then return; fi
        sleep 0.1
    done
    die "$name did not become ready within $limit s"
}

# bench_stop PID: TERM, up to 5 s, then KILL.
bench_stop() {
    local pid="$1"
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# --- CPU and memory ------------------------------------------------------------------------

# CPU seconds of a process, from /proc/PID/stat: "user system".
bench_proc_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print $12 / hz, $13 / hz }' "/proc/$1/stat"
}
# CPU seconds of a process, user + system.
bench_proc_cpu_total() {
    bench_proc_cpu "$1" | awk '{ print $1 + $2 }'
}
# Busy CPU seconds of the whole machine, from /proc/stat.
bench_machine_busy() {
    awk -v hz="$(getconf CLK_TCK)" '/^cpu / { print ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat
}
# bench_rss_kib PID FIELD: a /proc/PID/status memory field (VmRSS, VmHWM) in KiB.
bench_rss_kib() {
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# Other engineers' builds share the machine. bench_wait_quiet SECONDS [PAUSE]: wait up to
# SECONDS until under 0.2 cores are busy over one second (the server idle), checking every
# 1 + PAUSE (default 1) seconds; then measure anyway, saying so.
bench_wait_quiet() {
    local deadline=$((SECONDS + $1)) pause="${2:-1}" b0 b1
    while :; do
        b0="$(bench_machine_busy)"
        sleep 1
        b1="$(bench_machine_busy)"
        if awk -v a="$b0" -v b="$b1" 'BEGIN { exit !(b - a < 0.2) }'; then return; fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "machine still busy ($(awk -v a="$b0" -v b="$b1" 'BEGIN { printf "%.2f", b - a }') cores); measuring anyway"
            return
        fi
        sleep "$pause"
    done
}

# --- throwaway stores (the postgres backend) ------------------------------------------------
PG_DB=""
REDIS_PREFIX=""

# bench_pg_create: an empty database on PG_ADMIN_URL's server, named after BENCH_NAME, the time
# and this shell, kept in PG_DB and exported as LANYARD_DATABASE_URL (PG_ADMIN_URL with that
# database; its query, if any, left out). bench_pg_drop removes it.
bench_pg_create() {
    command -v psql >/dev/null || die "psql is required for the postgres backend"
    local db server
    db="lanyard_${BENCH_NAME//-/_}_$(date +%s)_$$"
    psql -X -q "$PG_ADMIN_URL" -c "CREATE DATABASE \"$db\"" >/dev/null ||
        die "could not create database $db at $PG_ADMIN_URL"
    PG_DB="$db"
    server="$(printf '%s' "$PG_ADMIN_URL" | sed -E 's#^([a-z]+://[^/?]*).*#\1#')"
    export LANYARD_DATABASE_URL="$server/$PG_DB"
}

# Drops the database bench_pg_create made, if any (connections closed by force).
bench_pg_drop() {
    [ -n "$PG_DB" ] || return 0
    psql -X -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 ||
        echo "$BENCH_NAME: could not drop database $PG_DB" >&2
    PG_DB=""
}

# bench_redis_prefix: the server's ephemeral state in REDIS_URL under a key prefix of its own
# (kept in REDIS_PREFIX, exported with LANYARD_REDIS_URL). bench_redis_clean deletes its keys.
bench_redis_prefix() {
    command -v redis-cli >/dev/null || die "redis-cli is required for the postgres backend"
    REDIS_PREFIX="lanyard-$BENCH_NAME-$(date +%s)-$$:"
    export LANYARD_REDIS_URL="$REDIS_URL"
    export LANYARD_EPHEMERAL__REDIS_PREFIX="$REDIS_PREFIX"
}

# bench_use_store BACKEND: sqlite, the data folder's database (nothing to make); postgres, a
# throwaway database and a Redis key prefix.
bench_use_store() {
    if [ "$1" = postgres ]; then
        bench_pg_create
        bench_redis_prefix
    fi
}

# Deletes the keys under the prefix bench_redis_prefix chose, if any.
bench_redis_clean() {
    [ -n "$REDIS_PREFIX" ] || return 0
    redis-cli -u "$REDIS_URL" --scan --pattern "${REDIS_PREFIX}*" 2>/dev/null |
        xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
    REDIS_PREFIX=""
}

# --- legacy hashes ---------------------------------------------------------------------------

# bench_legacy_venv DIR: a venv at DIR with the PyPI reference implementations of the legacy
# hashes (scripts/legacy-hashes/requirements.txt), made once and reused.
bench_legacy_venv() {
    local venv="$1"
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import bcrypt, passlib, argon2' 2>/dev/null; then
        log "python venv with the reference implementations ($venv)"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q -r "$(dirname "${BASH_SOURCE[0]}")/../legacy-hashes/requirements.txt"
    fi
}
