#!/usr/bin/env bash
# Token-endpoint benchmark: Lanyard (release build, embedded default: SQLite, ephemeral
# state included) against oidc-provider v9 (Node), each pinned to core 0, with wrk pinned to core 1 as
# the loopback load generator. For each of client_credentials (ES256 JWT), discovery and JWKS,
# at concurrency 16 and 64, it measures req/s, p50, p99 and errors, and after all runs each
# server's RSS. Runs are interleaved (Lanyard, then Node, per scenario) so that both see the
# same machine; the ratios within one run are what to compare.
#
#   bash scripts/bench-token.sh            # full run: 15 s per measurement (about 4 minutes)
#   BENCH_SECONDS=3 bash scripts/bench-token.sh   # smoke run
#
# Environment:
#   BENCH_SECONDS      seconds per measurement (default 15)
#   BENCH_WARMUP       seconds of unrecorded warm-up per server and endpoint (default 3)
#   BENCH_CONNECTIONS  concurrency levels (default "16 64")
#   BENCH_SKIP_BUILD=1 do not run cargo build (use LANYARD_BIN or target/release/lanyard)
#   LANYARD_BIN        the lanyard binary (default target/release/lanyard)
#   BENCH_SKIP_NODE=1  measure Lanyard only
#   BENCH_OUT          directory for the results file (default bench-results/)
#   BENCH_SERVER_CPU / BENCH_LOAD_CPU   cores for the servers and for wrk (default 0 and 1)
#   BENCH_NICE         nice value for servers and wrk (default -10 as root, else 0)
#   BENCH_QUIET_WAIT   seconds to wait for an idle machine before each measurement (default 60)
#
# Everything runs on 127.0.0.1; every process started here is stopped on exit.
set -euo pipefail

BENCH_NAME=bench-token
# shellcheck source=scripts/bench/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"
bench_scrub_env

SECONDS_PER_RUN="${BENCH_SECONDS:-15}"
WARMUP="${BENCH_WARMUP:-3}"
CONNECTIONS="${BENCH_CONNECTIONS:-16 64}"
SERVER_CPU="${BENCH_SERVER_CPU:-0}"
LOAD_CPU="${BENCH_LOAD_CPU:-1}"
# The machine is shared: servers and wrk run at a higher priority (nice -10, as root) so that
# other work on the machine disturbs the measurement less. Both servers get the same.
if [ "$(id -u)" = 0 ]; then NICE="${BENCH_NICE:--10}"; else NICE="${BENCH_NICE:-0}"; fi
if [ -n "${LANYARD_BIN:-}" ]; then BIN_NOTE="given by LANYARD_BIN"; else BIN_NOTE=""; fi
LANYARD_BIN="${LANYARD_BIN:-$ROOT/target/release/lanyard}"
OUT_DIR="${BENCH_OUT:-$ROOT/bench-results}"
NODE_DIR="$ROOT/bench/oidc-provider"
export BENCH_LUA_DIR="$ROOT/scripts/bench"
export BENCH_SCOPE="api:read"
CLIENT_ID="bench"

# --- tools -------------------------------------------------------------------------------
bench_require_wrk
for tool in taskset curl base64 awk; do
    command -v "$tool" >/dev/null || die "$tool is required"
done
[ "$(nproc)" -ge 2 ] || die "needs at least 2 cores (server on one, load generator on another)"
if [ "${BENCH_SKIP_NODE:-0}" != 1 ]; then
    command -v node >/dev/null || die "node is required for the oidc-provider comparison (or set BENCH_SKIP_NODE=1)"
fi

# --- processes and clean-up --------------------------------------------------------------
WORK="$(bench_work_dir)"
LANYARD_PID=""
NODE_PID=""
trap 'bench_stop "$LANYARD_PID"; bench_stop "$NODE_PID"; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# The JWT's protected header, decoded.
jwt_header() {
    local h="${1%%.*}"
    h="$(printf '%s' "$h" | tr '_-' '/+')"
    while [ $((${#h} % 4)) -ne 0 ]; do h="$h="; done
    printf '%s' "$h" | base64 -d
}
check_token() { # name url basic
    local body token header
    body="$(curl -fsS --max-time 5 -H "Authorization: Basic $3" \
        -d grant_type=client_credentials --data-urlencode "scope=$BENCH_SCOPE" "$2/token")" ||
        die "$1: token request failed"
    token="$(printf '%s' "$body" | sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')"
    [ -n "$token" ] || die "$1: no access_token in $body"
    header="$(jwt_header "$token")"
    case "$header" in
    *'"alg":"ES256"'*) ;;
    *) die "$1: access token is not ES256: $header" ;;
    esac
    log "$1 access token header: $header (token ${#token} bytes)"
    printf '%s' "$header" >"$WORK/$1.jwt-header"
}

mib_row() { # name rss0 hwm0 rss hwm (KiB), as a table row in MiB
    awk -v n="$1" -v a="$2" -v b="$3" -v c="$4" -v d="$5" \
        'BEGIN { printf "| %s | %.1f | %.1f | %.1f | %.1f |\n", n, a / 1024, b / 1024, c / 1024, d / 1024 }'
}

# One wrk measurement: prints "rps p50_ms p99_ms errors server_cpu% server_sys% wrk_cpu%
# other_cpu load1 requests".
measure() { # name pid url script connections seconds
    local name="$1" pid="$2" url="$3" script="$4" conns="$5" secs="$6"
    local out="$WORK/wrk.out" load1 cpu0 busy0 cpu1 busy1 wrk_cpu t0 t1
    load1="$(cut -d' ' -f1 /proc/loadavg)"
    cpu0="$(bench_proc_cpu "$pid")"
    busy0="$(bench_machine_busy)"
    t0="$(date +%s.%N)"
    # wrk runs in a subshell so that `times` there reports wrk's own CPU time (its only child).
    (
        nice -n "$NICE" taskset -c "$LOAD_CPU" wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$script" "$url" >"$out" 2>&1
        times >"$out.times" # not in a pipeline: a pipeline element is a new subshell
    ) || { cat "$out" >&2; die "wrk failed against $name"; }
    t1="$(date +%s.%N)"
    cpu1="$(bench_proc_cpu "$pid")"
    busy1="$(bench_machine_busy)"
    # `times`, second line: the children's user and system time, as "0m1.234s 0m0.567s".
    wrk_cpu="$(awk 'NR == 2 { gsub(/[ms]/, " "); print $1 * 60 + $2 + $3 * 60 + $4 }' "$out.times")"
    grep -q '^WRK_RESULT' "$out" || { cat "$out" >&2; die "no result from wrk against $name"; }
    grep '^WRK_RESULT' "$out" | awk -v t0="$t0" -v t1="$t1" -v c0="$cpu0" -v c1="$cpu1" \
        -v b0="$busy0" -v b1="$busy1" -v w="$wrk_cpu" -v load1="$load1" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
        split(c0, s0, " "); split(c1, s1, " ")
        wall = t1 - t0
        rps = r["requests"] / (r["duration_us"] / 1e6)
        errors = r["status"] + r["connect"] + r["read"] + r["write"] + r["timeout"]
        server = (s1[1] + s1[2] - s0[1] - s0[2])
        other = ((b1 - b0) - server - w) / wall
        if (other < 0) other = 0
        printf "%.0f %.2f %.2f %d %.0f %.0f %.0f %.2f %s %d\n", rps, r["p50_us"] / 1000,
            r["p99_us"] / 1000, errors, server / wall * 100, (s1[2] - s0[2]) / wall * 100,
            w / wall * 100, other, load1, r["requests"]
    }'
}

# --- build and data ----------------------------------------------------------------------
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    log "cargo build --release -p lanyard-server"
    cargo build --release -p lanyard-server >&2
fi
[ -x "$LANYARD_BIN" ] || die "no binary at $LANYARD_BIN"

if [ "${BENCH_SKIP_NODE:-0}" != 1 ] && [ ! -d "$NODE_DIR/node_modules/oidc-provider" ]; then
    log "npm ci in bench/oidc-provider"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund >&2)
fi

LANYARD_PORT="$(bench_free_port)"
LANYARD_URL="http://127.0.0.1:$LANYARD_PORT"
# The embedded default: built-in defaults only, whatever config/lanyard.toml holds locally.
bench_server_env "$WORK/lanyard-data" "$LANYARD_URL" "$WORK/lanyard.toml"
echo "# bench-token: defaults only" >"$LANYARD_CONFIG"

log "registering client '$CLIENT_ID' (client_credentials, client_secret_basic)"
created="$("$LANYARD_BIN" client create --id "$CLIENT_ID" --grant client_credentials \
    --auth client_secret_basic --scope "$BENCH_SCOPE" --json 2>"$WORK/client-create.log")" ||
    { cat "$WORK/client-create.log" >&2; die "lanyard client create failed"; }
LANYARD_SECRET="$(printf '%s' "$created" | sed -n 's/.*"client_secret" *: *"\([^"]*\)".*/\1/p')"
[ -n "$LANYARD_SECRET" ] || die "no client_secret in: $created"
LANYARD_BASIC="$(printf '%s:%s' "$CLIENT_ID" "$LANYARD_SECRET" | base64 -w0)"

log "starting lanyard on $LANYARD_URL (core $SERVER_CPU)"
LANYARD_LOG="${LANYARD_LOG:-info}" nice -n "$NICE" taskset -c "$SERVER_CPU" "$LANYARD_BIN" serve >"$WORK/lanyard.log" 2>&1 &
LANYARD_PID=$!
bench_wait_ready "$LANYARD_URL/readyz" "$LANYARD_PID" "$WORK/lanyard.log" lanyard 30
check_token lanyard "$LANYARD_URL" "$LANYARD_BASIC"
LANYARD_RSS0="$(bench_rss_kib "$LANYARD_PID" VmRSS)"
LANYARD_HWM0="$(bench_rss_kib "$LANYARD_PID" VmHWM)"

if [ "${BENCH_SKIP_NODE:-0}" != 1 ]; then
    NODE_PORT="$(bench_free_port)"
    NODE_URL="http://127.0.0.1:$NODE_PORT"
    NODE_SECRET="$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')"
    NODE_BASIC="$(printf '%s:%s' "$CLIENT_ID" "$NODE_SECRET" | base64 -w0)"
    log "starting oidc-provider $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$NODE_DIR/node_modules/oidc-provider/package.json") on node $(node --version) at $NODE_URL (core $SERVER_CPU)"
    NODE_ENV=production BENCH_PORT="$NODE_PORT" BENCH_CLIENT_ID="$CLIENT_ID" BENCH_CLIENT_SECRET="$NODE_SECRET" \
        nice -n "$NICE" taskset -c "$SERVER_CPU" node "$NODE_DIR/server.mjs" >"$WORK/node.log" 2>&1 &
    NODE_PID=$!
    bench_wait_ready "$NODE_URL/.well-known/openid-configuration" "$NODE_PID" "$WORK/node.log" node 30
    check_token node "$NODE_URL" "$NODE_BASIC"
    NODE_RSS0="$(bench_rss_kib "$NODE_PID" VmRSS)"
    NODE_HWM0="$(bench_rss_kib "$NODE_PID" VmHWM)"
fi

db_digest() { cat "$LANYARD_DATA_DIR"/lanyard.db* 2>/dev/null | cksum; }
DB_BEFORE="$(db_digest)"

# --- measurements ------------------------------------------------------------------------
SERVERS="lanyard"
[ "${BENCH_SKIP_NODE:-0}" = 1 ] || SERVERS="lanyard node"
RESULTS="$WORK/results"
: >"$RESULTS"
TOKEN_REQUESTS=0

run_scenario() { # endpoint script path
    local endpoint="$1" script="$2" path="$3" server conns pid url line
    for server in $SERVERS; do
        if [ "$server" = lanyard ]; then pid=$LANYARD_PID url=$LANYARD_URL; export BENCH_BASIC="$LANYARD_BASIC"
        else pid=$NODE_PID url=$NODE_URL; export BENCH_BASIC="$NODE_BASIC"; fi
        if [ "$WARMUP" -gt 0 ]; then
            measure "$server" "$pid" "$url$path" "$script" 16 "$WARMUP" >/dev/null
        fi
    done
    for conns in $CONNECTIONS; do
        for server in $SERVERS; do
            if [ "$server" = lanyard ]; then pid=$LANYARD_PID url=$LANYARD_URL; export BENCH_BASIC="$LANYARD_BASIC"
            else pid=$NODE_PID url=$NODE_URL; export BENCH_BASIC="$NODE_BASIC"; fi
            # Up to BENCH_QUIET_WAIT seconds (default 60), checking every 3 s; the "other
            # CPU" column shows what remained.
            bench_wait_quiet "${BENCH_QUIET_WAIT:-60}" 2
            log "$server $endpoint c=$conns ${SECONDS_PER_RUN}s (load $(cut -d' ' -f1-3 /proc/loadavg))"
            line="$(measure "$server" "$pid" "$url$path" "$script" "$conns" "$SECONDS_PER_RUN")"
            echo "$server $endpoint $conns $line" >>"$RESULTS"
            echo "   $line" >&2
            if [ "$server" = lanyard ] && [ "$endpoint" = client_credentials ]; then
                TOKEN_REQUESTS=$((TOKEN_REQUESTS + $(echo "$line" | awk '{ print $10 }')))
            fi
        done
    done
}

UPTIME_BEFORE="$(uptime)"
run_scenario client_credentials "$BENCH_LUA_DIR/post-token.lua" /token
run_scenario discovery "$BENCH_LUA_DIR/get.lua" /.well-known/openid-configuration
run_scenario jwks "$BENCH_LUA_DIR/get.lua" /jwks
UPTIME_AFTER="$(uptime)"

DB_AFTER="$(db_digest)"
LANYARD_RSS="$(bench_rss_kib "$LANYARD_PID" VmRSS)"
LANYARD_HWM="$(bench_rss_kib "$LANYARD_PID" VmHWM)"
if [ -n "$NODE_PID" ]; then
    NODE_RSS="$(bench_rss_kib "$NODE_PID" VmRSS)"
    NODE_HWM="$(bench_rss_kib "$NODE_PID" VmHWM)"
fi
ERRORS_LOGGED="$(grep -cE 'ERROR|WARN' "$WORK/lanyard.log" || true)"

# --- report ------------------------------------------------------------------------------
mkdir -p "$OUT_DIR"
REPORT="$OUT_DIR/token-$(date -u +%Y%m%dT%H%M%SZ).md"
{
    echo "# bench-token $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    if [ -z "$BIN_NOTE" ]; then
        BIN_NOTE="built from this tree at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
        git -C "$ROOT" diff --quiet HEAD 2>/dev/null || BIN_NOTE="$BIN_NOTE with uncommitted changes"
    fi
    echo "- lanyard: $LANYARD_BIN ($BIN_NOTE; $("$LANYARD_BIN" --version 2>/dev/null || echo 'version unknown'))"
    [ -z "$NODE_PID" ] || echo "- oidc-provider $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$NODE_DIR/node_modules/oidc-provider/package.json"), node $(node --version)"
    echo "- wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), 1 thread, core $LOAD_CPU; servers on core $SERVER_CPU; ${SECONDS_PER_RUN} s per run, ${WARMUP} s warm-up, nice $NICE"
    echo "- machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
    echo "- uptime before: $UPTIME_BEFORE"
    echo "- uptime after:  $UPTIME_AFTER"
    echo "- access token headers: lanyard $(cat "$WORK/lanyard.jwt-header")$([ -z "$NODE_PID" ] || echo "; node $(cat "$WORK/node.jwt-header")")"
    echo
    echo "| endpoint | c | server | req/s | p50 ms | p99 ms | errors | server CPU % (sys) | req/s per busy core | wrk CPU % | other CPU (cores) | load1 |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s (%s) | %.0f | %s | %s | %s |\n", $2, $3, $1, $4, $5, $6, $7, $8, $9, ($8 > 0 ? $4 * 100 / $8 : 0), $10, $11, $12 }' "$RESULTS"
    echo
    if [ -n "$NODE_PID" ]; then
        echo "| endpoint | c | lanyard/node req/s | lanyard/node req/s per busy core | node/lanyard p99 |"
        echo "|---|---:|---:|---:|---:|"
        awk '$1 == "lanyard" { k = $2 " " $3; l[k] = $4; le[k] = $4 / $8; lp[k] = $6; order[++n] = k }
             $1 == "node" { k = $2 " " $3; r[k] = $4; re[k] = $4 / $8; rp[k] = $6 }
             END { for (i = 1; i <= n; i++) { k = order[i]; split(k, a, " ")
                   printf "| %s | %s | %.1fx | %.1fx | %.1fx |\n", a[1], a[2], l[k] / r[k], le[k] / re[k], (lp[k] > 0 ? rp[k] / lp[k] : 0) } }' "$RESULTS"
        echo
    fi
    echo "| server | VmRSS ready (MiB) | VmHWM ready (MiB) | VmRSS after runs (MiB) | VmHWM after runs (MiB) |"
    echo "|---|---:|---:|---:|---:|"
    mib_row lanyard "$LANYARD_RSS0" "$LANYARD_HWM0" "$LANYARD_RSS" "$LANYARD_HWM"
    [ -z "$NODE_PID" ] || mib_row oidc-provider "$NODE_RSS0" "$NODE_HWM0" "$NODE_RSS" "$NODE_HWM"
    echo
    if [ "$DB_BEFORE" = "$DB_AFTER" ]; then
        echo "- database files unchanged by $TOKEN_REQUESTS client_credentials tokens (no write per token)"
    else
        echo "- database files CHANGED during the token runs ($TOKEN_REQUESTS tokens)"
    fi
    echo "- lanyard log lines at WARN/ERROR: $ERRORS_LOGGED"
    saturated="$(awk '$10 >= 90 { printf "%s%s %s c=%s (%s%%)", sep, $1, $2, $3, $10; sep = ", " }' "$RESULTS")"
    if [ -n "$saturated" ]; then
        echo "- WARNING: wrk's one thread was near saturation (>= 90% CPU) in: $saturated; those"
        echo "  figures may be the load generator's limit, not the server's"
    else
        echo "- wrk's one thread stayed below 90% CPU in every run (the load generator was not the limit)"
    fi
    echo "- server CPU % is the server's CPU time over wall time (100 = its core saturated; in"
    echo "  brackets the part spent in the kernel); req/s per busy core = req/s / server CPU,"
    echo "  the throughput a whole core would give, which other work on the machine disturbs least;"
    echo "  wrk CPU near 100 means the load generator, not the server, may be the limit; 'other"
    echo "  CPU' is work by other processes on the machine during the run (noise: rerun when it is"
    echo "  not near 0)."
} >"$REPORT"
cat "$REPORT"
log "report written to $REPORT"
