#!/usr/bin/env bash
# PAT exchange benchmark (RFC 8693, subject_token_type=urn:lanyard:token-type:pat, a public
# client, audience = a registered [[resources]] API) against client_credentials on the same
# server, on SQLite (embedded default: ephemeral state in SQLite too) and on PostgreSQL + Redis
# (production layout), with 100 and with 1,000,000 PATs in the store, PAT cache on and off.
# The server is the release build pinned to core 0; wrk runs pinned to core 1; loopback only.
#
# Per backend, in one run:
#   1. a fresh store: SQLite in a temporary data folder, or a throwaway PostgreSQL database
#      (dropped on exit) with a Redis key prefix of its own (its keys deleted on exit);
#   2. three accounts and 120 PATs minted with `lanyard pat create --json` (100 live ones,
#      which wrk uses in turn, and 20 revoked with `lanyard pat revoke`);
#   3. cache on: client_credentials and exchange at each concurrency; cache off
#      (LANYARD_PATS__CACHE=false): exchange at each concurrency;
#   4. the store filled up to BENCH_BIG_PATS PATs by SQL (random hashes, never presented,
#      spread over BENCH_DUMMY_ACCOUNTS dummy accounts);
#   5. step 3 again, then S26: mistyped (bad checksum), unknown-but-well-formed and revoked
#      PATs, each refused with 400 invalid_grant. On PostgreSQL the index scans of
#      ux_pats_token_hash are counted around these runs: the mistyped run must cause none.
# The failure throttle (pats.exchange_failures_per_ip = 20, _per_client = 1000 by default)
# would answer the S26 runs with 429 after a few requests: the bench config raises both to
# 1,000,000,000 (docs/performance.md says so).
#
#   bash scripts/bench-exchange.sh                  # full run (about 10 minutes on a quiet machine)
#   BENCH_SECONDS=2 BENCH_WARMUP=1 bash scripts/bench-exchange.sh   # smoke run
#
# Environment:
#   BENCH_SECONDS        seconds per measurement (default 10)
#   BENCH_WARMUP         seconds of unrecorded warm-up per server start and endpoint (default 2)
#   BENCH_CONNECTIONS    concurrency levels (default "16 64")
#   BENCH_S26_CONNECTIONS concurrency of the S26 runs (default 16)
#   BENCH_BACKENDS       "sqlite postgres" (default), or one of them
#   BENCH_BIG_PATS       PATs in the store for the second half (default 1000000)
#   BENCH_DUMMY_ACCOUNTS accounts the seeded PATs belong to (default 20000: 50 PATs each,
#                        the default pats.max_per_account)
#   BENCH_PG_ADMIN_URL   where to create the throwaway database
#                        (default postgres://postgres@127.0.0.1:5432/postgres)
#   BENCH_REDIS_URL      Redis for the PostgreSQL backend (default redis://127.0.0.1:6379)
#   BENCH_PG_STATS_SETTLE seconds to let PostgreSQL flush its statistics before the index
#                        scans are read (default 11: an idle backend flushes within 10 s)
#   BENCH_SKIP_BUILD=1   do not run cargo build (use LANYARD_BIN or target/release/lanyard)
#   LANYARD_BIN          the lanyard binary (default $CARGO_TARGET_DIR/release/lanyard)
#   BENCH_OUT            directory for the results file (default bench-results/)
#   BENCH_SERVER_CPU / BENCH_LOAD_CPU   cores for the server and for wrk (default 0 and 1)
#   BENCH_NICE           nice value for the server and wrk (default -10 as root, else 0)
#   BENCH_QUIET_WAIT     seconds to wait for an idle machine before each measurement (default 10)
#
# Everything runs on 127.0.0.1; every process, database and Redis key made here is removed
# on exit. PATs and client secrets stay in the temporary folder (mode 0700) and never reach
# argv or the output.
set -euo pipefail

BENCH_NAME=bench-exchange
# shellcheck source=scripts/bench/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"
bench_scrub_env

SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
WARMUP="${BENCH_WARMUP:-2}"
CONNECTIONS="${BENCH_CONNECTIONS:-16 64}"
S26_CONNECTIONS="${BENCH_S26_CONNECTIONS:-16}"
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
BIG_PATS="${BENCH_BIG_PATS:-1000000}"
DUMMY_ACCOUNTS="${BENCH_DUMMY_ACCOUNTS:-20000}"
PG_ADMIN_URL="${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REDIS_URL="${BENCH_REDIS_URL:-redis://127.0.0.1:6379}"
PG_STATS_SETTLE="${BENCH_PG_STATS_SETTLE:-11}"
SERVER_CPU="${BENCH_SERVER_CPU:-0}"
LOAD_CPU="${BENCH_LOAD_CPU:-1}"
QUIET_WAIT="${BENCH_QUIET_WAIT:-10}"
if [ "$(id -u)" = 0 ]; then NICE="${BENCH_NICE:--10}"; else NICE="${BENCH_NICE:-0}"; fi
if [ -n "${LANYARD_BIN:-}" ]; then BIN_NOTE="given by LANYARD_BIN"; else BIN_NOTE=""; fi
LANYARD_BIN="${LANYARD_BIN:-$(bench_bin_dir release)/lanyard}"
OUT_DIR="${BENCH_OUT:-$ROOT/bench-results}"
export BENCH_LUA_DIR="$ROOT/scripts/bench"
LUA="$BENCH_LUA_DIR/exchange.lua"
AUDIENCE="https://api.example.com"
CC_SCOPE="api:read"
PAT_SCOPE="repo:read"
LIVE_PATS=100
REVOKED_PATS=20
THROTTLE_RAISED=1000000000

# --- tools -------------------------------------------------------------------------------
bench_require_wrk
for tool in taskset curl awk python3 sqlite3; do
    command -v "$tool" >/dev/null || die "$tool is required"
done
case " $BACKENDS " in
*" postgres "*)
    for tool in psql redis-cli; do
        command -v "$tool" >/dev/null || die "$tool is required for the postgres backend (or BENCH_BACKENDS=sqlite)"
    done
    ;;
esac
for b in $BACKENDS; do
    case "$b" in sqlite | postgres) ;; *) die "unknown backend $b (sqlite or postgres)" ;; esac
done
[ "$(nproc)" -ge 2 ] || die "needs at least 2 cores (server on one, load generator on another)"
[ "$BIG_PATS" -gt $((LIVE_PATS + REVOKED_PATS)) ] || die "BENCH_BIG_PATS must exceed $((LIVE_PATS + REVOKED_PATS))"

# --- processes and clean-up --------------------------------------------------------------
WORK="$(bench_work_dir)"
LANYARD_PID=""
stop_server() {
    bench_stop "$LANYARD_PID"
    LANYARD_PID=""
}
# Every process, database and Redis key of the current backend.
leave_backend() {
    stop_server
    bench_pg_drop
    bench_redis_clean
}
trap 'leave_backend; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# The PostgreSQL backends serving the bench database, as "pid cpu_seconds" lines.
pg_backend_cpu() {
    [ -n "$PG_DB" ] || return 0
    local pid
    for pid in $(psql -X -At "$PG_ADMIN_URL" -c "SELECT pid FROM pg_stat_activity WHERE datname = '$PG_DB'" 2>/dev/null); do
        [ -r "/proc/$pid/stat" ] || continue
        echo "$pid $(bench_proc_cpu_total "$pid")"
    done
}
pg_cpu_delta() { # before-file after-file: CPU seconds the backends used in between
    awk 'NR == FNR { before[$1] = $2; next } { used += $2 - (($1 in before) ? before[$1] : 0) } END { printf "%.3f\n", used + 0 }' "$1" "$2"
}
pg_index_scans() {
    psql -X -At "$LANYARD_DATABASE_URL" \
        -c "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'ux_pats_token_hash'"
}

# One wrk run with exchange.lua. Environment: BENCH_MODE, BENCH_EXPECT, BENCH_TOKENS, ...
# Prints "rps p50_ms p99_ms socket_errors unexpected statuses server_cpu% server_sys% wrk_cpu%
# pg_cpu% other_cpu load1 requests".
measure() { # connections seconds
    local conns="$1" secs="$2"
    local out="$WORK/wrk.out" load1 cpu0 busy0 cpu1 busy1 wrk_cpu t0 t1 pg=0
    load1="$(cut -d' ' -f1 /proc/loadavg)"
    pg_backend_cpu >"$WORK/pg0"
    cpu0="$(bench_proc_cpu "$LANYARD_PID")"
    busy0="$(bench_machine_busy)"
    t0="$(date +%s.%N)"
    (
        nice -n "$NICE" taskset -c "$LOAD_CPU" wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$LUA" "$URL/token" >"$out" 2>&1
        times >"$out.times"
    ) || { cat "$out" >&2; die "wrk failed"; }
    t1="$(date +%s.%N)"
    cpu1="$(bench_proc_cpu "$LANYARD_PID")"
    busy1="$(bench_machine_busy)"
    pg_backend_cpu >"$WORK/pg1"
    pg="$(pg_cpu_delta "$WORK/pg0" "$WORK/pg1")"
    wrk_cpu="$(awk 'NR == 2 { gsub(/[ms]/, " "); print $1 * 60 + $2 + $3 * 60 + $4 }' "$out.times")"
    grep -q '^WRK_RESULT' "$out" || { cat "$out" >&2; die "no result from wrk"; }
    grep '^WRK_RESULT' "$out" | awk -v t0="$t0" -v t1="$t1" -v c0="$cpu0" -v c1="$cpu1" \
        -v b0="$busy0" -v b1="$busy1" -v w="$wrk_cpu" -v pg="$pg" -v load1="$load1" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
        split(c0, s0, " "); split(c1, s1, " ")
        wall = t1 - t0
        rps = r["requests"] / (r["duration_us"] / 1e6)
        sock = r["connect"] + r["read"] + r["write"] + r["timeout"]
        server = (s1[1] + s1[2] - s0[1] - s0[2])
        other = ((b1 - b0) - server - w - pg) / wall
        if (other < 0) other = 0
        printf "%.0f %.2f %.2f %d %d %s %.0f %.0f %.0f %.0f %.2f %s %d\n", rps, r["p50_us"] / 1000,
            r["p99_us"] / 1000, sock, r["unexpected"], r["statuses"], server / wall * 100,
            (s1[2] - s0[2]) / wall * 100, w / wall * 100, pg / wall * 100, other, load1, r["requests"]
    }'
}

RESULTS="$WORK/results"
: >"$RESULTS"
SERVERS="$WORK/servers"
: >"$SERVERS"

# run BACKEND PATS CACHE SCENARIO CONNECTIONS: one recorded measurement.
run() {
    local backend="$1" pats="$2" cache="$3" scenario="$4" conns="$5" line
    case "$scenario" in
    cc) export BENCH_MODE=cc BENCH_EXPECT=200 ;;
    exchange) export BENCH_MODE=exchange BENCH_EXPECT=200 BENCH_TOKENS="$WORK/live.tokens" ;;
    s26a_mistyped) export BENCH_MODE=exchange BENCH_EXPECT=400 BENCH_TOKENS="$WORK/mistyped.tokens" ;;
    s26b_unknown) export BENCH_MODE=exchange BENCH_EXPECT=400 BENCH_TOKENS="$WORK/unknown.tokens" ;;
    s26b_revoked) export BENCH_MODE=exchange BENCH_EXPECT=400 BENCH_TOKENS="$WORK/revoked.tokens" ;;
    esac
    # The "other CPU" column shows what remained of other work on the machine.
    bench_wait_quiet "$QUIET_WAIT"
    log "$backend pats=$pats cache=$cache $scenario c=$conns ${SECONDS_PER_RUN}s (load $(cut -d' ' -f1-3 /proc/loadavg))"
    line="$(measure "$conns" "$SECONDS_PER_RUN")"
    echo "   $line" >&2
    echo "$backend $pats $cache $scenario $conns $line" >>"$RESULTS"
    LAST_REQUESTS="$(echo "$line" | awk '{ print $13 }')"
}

warm_up() {
    [ "$WARMUP" -gt 0 ] || return 0
    BENCH_MODE=cc BENCH_EXPECT=200 measure 16 "$WARMUP" >/dev/null
    BENCH_MODE=exchange BENCH_EXPECT=200 BENCH_TOKENS="$WORK/live.tokens" measure 16 "$WARMUP" >/dev/null
}

# --- build -------------------------------------------------------------------------------
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    log "cargo build --release -p lanyard-server"
    cargo build --release -p lanyard-server >&2
fi
[ -x "$LANYARD_BIN" ] || die "no binary at $LANYARD_BIN"

PORT="$(bench_free_port)"
URL="http://127.0.0.1:$PORT"
export BENCH_CLIENT_ID="tool" BENCH_AUDIENCE="$AUDIENCE" BENCH_SCOPE="$CC_SCOPE"

# --- per backend -------------------------------------------------------------------------
# The environment of the CLI and the server for a backend (the store, data folder, config).
enter_backend() {
    local backend="$1"
    bench_server_env "$WORK/$backend-data" "$URL" "$WORK/lanyard.toml"
    bench_use_store "$backend"
    if [ "$backend" = postgres ]; then
        "$LANYARD_BIN" migrate >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log" >&2; die "lanyard migrate failed"; }
    fi
}

cat >"$WORK/lanyard.toml" <<EOF
# bench-exchange: built-in defaults, one API for the exchange, and the failure throttle
# raised so that the S26 runs (every request refused) are not answered with 429.
[pats]
exchange_failures_per_ip = $THROTTLE_RAISED
exchange_failures_per_client = $THROTTLE_RAISED

[[resources]]
identifier = "$AUDIENCE"
scopes = ["repo:read", "repo:write"]
EOF

json_field() { # field: reads one JSON document on stdin
    python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# Clients, accounts and the 120 PATs (100 live, 20 revoked).
populate() {
    local created secret i account email id
    created="$("$LANYARD_BIN" client create --id bench --grant client_credentials \
        --auth client_secret_basic --scope "$CC_SCOPE" --json 2>"$WORK/cli.log")" ||
        { cat "$WORK/cli.log" >&2; die "lanyard client create (bench) failed"; }
    secret="$(printf '%s' "$created" | json_field client_secret)"
    BENCH_BASIC="$(printf 'bench:%s' "$secret" | base64 -w0)"
    export BENCH_BASIC
    "$LANYARD_BIN" client create --id "$BENCH_CLIENT_ID" \
        --grant urn:ietf:params:oauth:grant-type:token-exchange --auth none --json \
        >/dev/null 2>"$WORK/cli.log" || { cat "$WORK/cli.log" >&2; die "lanyard client create (tool) failed"; }
    for account in 1 2 3; do
        head -c 24 /dev/urandom | base64 |
            "$LANYARD_BIN" user create --email "pat-owner-$account@bench.test" --name "PAT owner $account" \
                --password-stdin --json >/dev/null 2>"$WORK/cli.log" ||
            { cat "$WORK/cli.log" >&2; die "lanyard user create failed"; }
    done
    : >"$WORK/live.tokens"
    : >"$WORK/revoked.tokens"
    for i in $(seq $((LIVE_PATS + REVOKED_PATS))); do
        email="pat-owner-$((i % 3 + 1))@bench.test"
        created="$("$LANYARD_BIN" pat create --user "$email" --name "bench $i" --scope "$PAT_SCOPE" \
            --audience "$AUDIENCE" --json 2>"$WORK/cli.log")" ||
            { cat "$WORK/cli.log" >&2; die "lanyard pat create failed"; }
        if [ "$i" -le "$LIVE_PATS" ]; then
            printf '%s' "$created" | json_field token >>"$WORK/live.tokens"
        else
            printf '%s' "$created" | json_field token >>"$WORK/revoked.tokens"
            id="$(printf '%s' "$created" | json_field id)"
            "$LANYARD_BIN" pat revoke "$id" --json >/dev/null 2>"$WORK/cli.log" ||
                { cat "$WORK/cli.log" >&2; die "lanyard pat revoke failed"; }
        fi
    done
    # Mistyped: the live tokens with one checksum character changed. Unknown: well-formed
    # tokens (right checksum) that were never stored.
    python3 - "$WORK" "$REVOKED_PATS" <<'PY'
import os, sys, zlib
work, n = sys.argv[1], int(sys.argv[2])
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
def b62(number, digits):
    out = []
    for _ in range(digits):
        number, r = divmod(number, 62)
        out.append(B62[r])
    return "".join(reversed(out))
def checksum(text):
    return b62(zlib.crc32(text.encode()), 6)
live = [t.strip() for t in open(os.path.join(work, "live.tokens")) if t.strip()]
for t in live:
    assert checksum(t[:51]) == t[52:], "the checksum rule here does not match the server's"
with open(os.path.join(work, "mistyped.tokens"), "w") as f:
    for t in live:
        last = "1" if t[-1] == "0" else "0"
        f.write(t[:-1] + last + "\n")
with open(os.path.join(work, "unknown.tokens"), "w") as f:
    for _ in range(n):
        body = "lyd_pat_" + b62(int.from_bytes(os.urandom(32), "big"), 43)
        f.write(body + "_" + checksum(body) + "\n")
PY
}

# Fill the store up to BIG_PATS PATs: random hashes (never presented) for dummy accounts.
seed() {
    local backend="$1" have add now
    now="$(date +%s)"
    if [ "$backend" = sqlite ]; then
        local db="$LANYARD_DATA_DIR/lanyard.db"
        have="$(sqlite3 "$db" "SELECT count(*) FROM pats")"
        add=$((BIG_PATS - have))
        # Ids are stored as the server stores them (16-byte blobs or text, as it found).
        local idtype
        idtype="$(sqlite3 "$db" "SELECT typeof(id) FROM pats LIMIT 1")"
        local newid="randomblob(16)"
        [ "$idtype" = blob ] || newid="lower(substr(hex(randomblob(16)),1,8)||'-'||substr(hex(randomblob(16)),1,4)||'-4'||substr(hex(randomblob(16)),1,3)||'-8'||substr(hex(randomblob(16)),1,3)||'-'||substr(hex(randomblob(16)),1,12))"
        sqlite3 "$db" >/dev/null <<EOF
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
CREATE TEMP TABLE dummy (n INTEGER PRIMARY KEY, id);
WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n + 1 < $DUMMY_ACCOUNTS)
INSERT INTO dummy (n, id) SELECT n, $newid FROM k;
INSERT INTO accounts (id, email, email_normalized, email_verified, name, password_hash, status, created_at, updated_at)
SELECT id, 'dummy-' || n || '@bench.invalid', 'dummy-' || n || '@bench.invalid', 1, 'Dummy ' || n, NULL, 'active', $now, $now FROM dummy;
WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n + 1 < $add)
INSERT INTO pats (id, account_id, name, token_hash, display, scopes, audiences, site_user_id, created_at, expires_at, last_used_at, revoked_at)
SELECT $newid, d.id, 'seeded ' || k.n, lower(hex(randomblob(32))), 'lyd_pat_seed…0000', '["repo:read"]', '[]', NULL, $now, $now + 7776000, NULL, NULL
FROM k JOIN dummy d ON d.n = k.n % $DUMMY_ACCOUNTS;
COMMIT;
ANALYZE;
EOF
        sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
        have="$(sqlite3 "$db" "SELECT count(*) FROM pats")"
    else
        local url="$LANYARD_DATABASE_URL"
        have="$(psql -X -At "$url" -c "SELECT count(*) FROM pats")"
        add=$((BIG_PATS - have))
        psql -X -q -v ON_ERROR_STOP=1 "$url" >/dev/null <<EOF
BEGIN;
CREATE TEMP TABLE dummy AS SELECT n, gen_random_uuid() AS id FROM generate_series(0, $DUMMY_ACCOUNTS - 1) AS n;
INSERT INTO accounts (id, email, email_normalized, email_verified, name, password_hash, status, created_at, updated_at)
SELECT id, 'dummy-' || n || '@bench.invalid', 'dummy-' || n || '@bench.invalid', true, 'Dummy ' || n, NULL, 'active', $now, $now FROM dummy;
INSERT INTO pats (id, account_id, name, token_hash, display, scopes, audiences, site_user_id, created_at, expires_at, last_used_at, revoked_at)
SELECT gen_random_uuid(), d.id, 'seeded ' || k, md5(random()::text) || md5(random()::text), 'lyd_pat_seed…0000', '["repo:read"]', '[]', NULL, $now, $now + 7776000, NULL, NULL
FROM generate_series(0, $add - 1) AS k JOIN dummy d ON d.n = k % $DUMMY_ACCOUNTS;
COMMIT;
VACUUM ANALYZE pats;
VACUUM ANALYZE accounts;
EOF
        have="$(psql -X -At "$url" -c "SELECT count(*) FROM pats")"
    fi
    echo "$have"
}

start_server() { # backend pats cache
    local backend="$1" pats="$2" cache="$3" log_file
    log_file="$WORK/lanyard.log"
    : >"$log_file"
    log "starting lanyard ($backend, $pats PATs, cache $cache) on $URL (core $SERVER_CPU)"
    LANYARD_PATS__CACHE="$([ "$cache" = on ] && echo true || echo false)" LANYARD_LOG="${LANYARD_LOG:-info}" \
        nice -n "$NICE" taskset -c "$SERVER_CPU" "$LANYARD_BIN" serve >"$log_file" 2>&1 &
    LANYARD_PID=$!
    bench_wait_ready "$URL/readyz" "$LANYARD_PID" "$log_file" lanyard 30
    check_exchange "$backend"
    warm_up
}

finish_server() { # backend pats cache: record RSS and log lines, then stop
    local warn
    warn="$(grep -cE ' (ERROR|WARN) ' "$WORK/lanyard.log" || true)"
    echo "$1 $2 $3 $(bench_rss_kib "$LANYARD_PID" VmRSS) $(bench_rss_kib "$LANYARD_PID" VmHWM) $warn" >>"$SERVERS"
    if [ "$warn" -gt 0 ]; then
        log "lanyard logged $warn WARN/ERROR lines:"
        grep -E ' (ERROR|WARN) ' "$WORK/lanyard.log" | head -5 >&2
    fi
    stop_server
}

# One exchange by hand: 200, an ES256 at+jwt for the API, amr pat; and one mistyped: 400
# invalid_grant (not 429).
check_exchange() {
    local body status
    body="$(head -1 "$WORK/live.tokens" | tr -d '\n' | curl -sS --max-time 5 -w '\n%{http_code}' \
        --data-urlencode grant_type=urn:ietf:params:oauth:grant-type:token-exchange \
        --data-urlencode "client_id=$BENCH_CLIENT_ID" \
        --data-urlencode subject_token_type=urn:lanyard:token-type:pat \
        --data-urlencode "audience=$AUDIENCE" \
        --data-urlencode "subject_token@-" "$URL/token")" || die "exchange request failed"
    status="$(printf '%s' "$body" | tail -1)"
    [ "$status" = 200 ] || die "exchange answered $status: $(printf '%s' "$body" | head -1)"
    EXCHANGE_CHECK="$(printf '%s' "$body" | head -1 | python3 -c '
import base64, json, sys
doc = json.load(sys.stdin)
def part(i):
    s = doc["access_token"].split(".")[i]
    return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
h, c = part(0), part(1)
assert h["alg"] == "ES256" and h["typ"] == "at+jwt", h
assert c["aud"] == sys.argv[1] and c["amr"] == ["pat"] and c["client_id"] == sys.argv[2], c
assert doc["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token", doc
print("header %s; claims aud=%s scope=%s amr=%s client_id=%s; %d bytes" % (
    json.dumps(h, separators=(",", ":")).replace(h.get("kid", "-"), "…"), c["aud"], c["scope"], c["amr"],
    c["client_id"], len(doc["access_token"])))
' "$AUDIENCE" "$BENCH_CLIENT_ID")" || die "the exchange's token is not what it should be"
    status="$(head -1 "$WORK/mistyped.tokens" | tr -d '\n' | curl -sS --max-time 5 -o "$WORK/refused.json" -w '%{http_code}' \
        --data-urlencode grant_type=urn:ietf:params:oauth:grant-type:token-exchange \
        --data-urlencode "client_id=$BENCH_CLIENT_ID" \
        --data-urlencode subject_token_type=urn:lanyard:token-type:pat \
        --data-urlencode "audience=$AUDIENCE" \
        --data-urlencode "subject_token@-" "$URL/token")" || die "exchange request failed"
    [ "$status" = 400 ] && grep -q '"invalid_grant"' "$WORK/refused.json" ||
        die "a mistyped PAT was answered $status: $(cat "$WORK/refused.json")"
}

UPTIME_BEFORE="$(uptime)"
STARTED=$SECONDS
declare -A SEED_SECONDS PAT_ROWS LOOKUPS
for backend in $BACKENDS; do
    log "backend $backend"
    enter_backend "$backend"
    t=$SECONDS
    populate
    log "clients, 3 accounts and $((LIVE_PATS + REVOKED_PATS)) PATs made with the CLI in $((SECONDS - t)) s"
    small=$((LIVE_PATS + REVOKED_PATS))

    start_server "$backend" "$small" on
    for c in $CONNECTIONS; do run "$backend" "$small" on cc "$c"; done
    for c in $CONNECTIONS; do run "$backend" "$small" on exchange "$c"; done
    finish_server "$backend" "$small" on
    start_server "$backend" "$small" off
    for c in $CONNECTIONS; do run "$backend" "$small" off exchange "$c"; done
    finish_server "$backend" "$small" off

    log "seeding the store up to $BIG_PATS PATs ($DUMMY_ACCOUNTS dummy accounts)"
    t=$SECONDS
    big="$(seed "$backend")"
    # The seed's SQL runs in a command substitution, where a failure does not stop the script.
    [ "$big" -ge "$BIG_PATS" ] || die "seeding stopped at $big PATs (wanted $BIG_PATS)"
    SEED_SECONDS[$backend]=$((SECONDS - t))
    PAT_ROWS[$backend]="$big"
    log "store holds $big PATs (seeded in ${SEED_SECONDS[$backend]} s)"

    start_server "$backend" "$big" on
    for c in $CONNECTIONS; do run "$backend" "$big" on cc "$c"; done
    for c in $CONNECTIONS; do run "$backend" "$big" on exchange "$c"; done
    # S26: on PostgreSQL, the index scans of ux_pats_token_hash around each run (statistics
    # reach pg_stat_user_indexes within 10 s of a backend going idle).
    for scenario in s26a_mistyped s26b_unknown s26b_revoked; do
        if [ "$backend" = postgres ]; then sleep "$PG_STATS_SETTLE"; scans0="$(pg_index_scans)"; fi
        run "$backend" "$big" on "$scenario" "$S26_CONNECTIONS"
        if [ "$backend" = postgres ]; then
            sleep "$PG_STATS_SETTLE"
            scans1="$(pg_index_scans)"
            LOOKUPS[$scenario]="$((scans1 - scans0)) $LAST_REQUESTS"
            log "   index scans of ux_pats_token_hash: $((scans1 - scans0)) for $LAST_REQUESTS requests"
        fi
    done
    finish_server "$backend" "$big" on
    start_server "$backend" "$big" off
    for c in $CONNECTIONS; do run "$backend" "$big" off exchange "$c"; done
    finish_server "$backend" "$big" off
    leave_backend
done
UPTIME_AFTER="$(uptime)"
WALL=$((SECONDS - STARTED))

# --- report ------------------------------------------------------------------------------
mkdir -p "$OUT_DIR"
REPORT="$OUT_DIR/exchange-$(date -u +%Y%m%dT%H%M%SZ).md"
fmt_int() { printf "%'d" "$1" 2>/dev/null || echo "$1"; }
{
    echo "# bench-exchange $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    if [ -z "$BIN_NOTE" ]; then
        BIN_NOTE="built from this tree at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
        git -C "$ROOT" diff --quiet HEAD 2>/dev/null || BIN_NOTE="$BIN_NOTE with uncommitted changes"
    fi
    echo "- lanyard: $LANYARD_BIN ($BIN_NOTE; $("$LANYARD_BIN" --version 2>/dev/null || echo 'version unknown'))"
    echo "- wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), 1 thread, core $LOAD_CPU; server on core $SERVER_CPU; ${SECONDS_PER_RUN} s per run, ${WARMUP} s warm-up per server start, nice $NICE; PostgreSQL and Redis not pinned"
    echo "- machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
    echo "- uptime before: $UPTIME_BEFORE"
    echo "- uptime after:  $UPTIME_AFTER"
    echo "- wall-clock time of the run (after the build): $((WALL / 60)) min $((WALL % 60)) s"
    echo "- store: $LIVE_PATS live PATs (used in turn by wrk) + $REVOKED_PATS revoked, minted with the CLI; then filled by SQL to $(for b in $BACKENDS; do printf '%s %s PATs (%s s); ' "$b" "$(fmt_int "${PAT_ROWS[$b]}")" "${SEED_SECONDS[$b]}"; done)$(fmt_int "$DUMMY_ACCOUNTS") dummy accounts"
    echo "- config: one API \`$AUDIENCE\` (scopes repo:read repo:write), exchange by the public client \`$BENCH_CLIENT_ID\`; client_credentials by \`bench\` (client_secret_basic, scope $CC_SCOPE); pats.exchange_failures_per_ip and _per_client raised to $(fmt_int $THROTTLE_RAISED) for the S26 runs; cache off = LANYARD_PATS__CACHE=false"
    echo "- exchange check: $EXCHANGE_CHECK"
    echo
    echo "## All runs"
    echo
    echo "| backend | PATs | cache | scenario | c | req/s | p50 ms | p99 ms | unexpected status | socket errors | server CPU % (sys) | req/s per busy core | PG CPU % | wrk CPU % | other CPU (cores) |"
    echo "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s (%s) | %.0f | %s | %s | %s |\n",
        $1, $2, $3, $4, $5, $6, $7, $8, $10, $9, $12, $13, ($12 > 0 ? $6 * 100 / $12 : 0), $15, $14, $16 }' "$RESULTS"
    echo
    echo "## Exchange against client_credentials (same server, cache on)"
    echo
    echo "| backend | PATs | c | exchange req/s | cc req/s | exchange/cc | exchange p99 ms | cc p99 ms | per busy core: exchange/cc |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk '$3 == "on" && ($4 == "exchange" || $4 == "cc") { k = $1 " " $2 " " $5; rps[k, $4] = $6; p99[k, $4] = $8; core[k, $4] = ($12 > 0 ? $6 / $12 : 0)
            if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
         END { for (i = 1; i <= n; i++) { k = order[i]; split(k, a, " ")
               printf "| %s | %s | %s | %s | %s | %.0f %% | %s | %s | %.0f %% |\n", a[1], a[2], a[3], rps[k, "exchange"], rps[k, "cc"],
                 (rps[k, "cc"] > 0 ? rps[k, "exchange"] * 100 / rps[k, "cc"] : 0), p99[k, "exchange"], p99[k, "cc"],
                 (core[k, "cc"] > 0 ? core[k, "exchange"] * 100 / core[k, "cc"] : 0) } }' "$RESULTS"
    echo
    echo "## From $((LIVE_PATS + REVOKED_PATS)) to $(fmt_int "$BIG_PATS") PATs in the store (exchange)"
    echo
    echo "| backend | cache | c | req/s small | req/s big | change | p99 ms small | p99 ms big | per busy core: change |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    awk -v small=$((LIVE_PATS + REVOKED_PATS)) '$4 == "exchange" { k = $1 " " $3 " " $5; size = ($2 == small ? "s" : "b"); rps[k, size] = $6; p99[k, size] = $8; core[k, size] = ($12 > 0 ? $6 / $12 : 0)
            if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
         END { for (i = 1; i <= n; i++) { k = order[i]; split(k, a, " ")
               printf "| %s | %s | %s | %s | %s | %+.1f %% | %s | %s | %+.1f %% |\n", a[1], a[2], a[3], rps[k, "s"], rps[k, "b"],
                 (rps[k, "s"] > 0 ? (rps[k, "b"] / rps[k, "s"] - 1) * 100 : 0), p99[k, "s"], p99[k, "b"],
                 (core[k, "s"] > 0 ? (core[k, "b"] / core[k, "s"] - 1) * 100 : 0) } }' "$RESULTS"
    echo
    echo "## S26: refused subject tokens ($(fmt_int "$BIG_PATS") PATs, cache on)"
    echo
    echo "| backend | scenario | c | req/s | p50 ms | p99 ms | responses | PG index scans (ux_pats_token_hash) |"
    echo "|---|---|---:|---:|---:|---:|---|---:|"
    for scenario in s26a_mistyped s26b_unknown s26b_revoked; do
        awk -v s="$scenario" -v lookups="${LOOKUPS[$scenario]:-}" '$4 == s {
            scans = "n/a"
            if ($1 == "postgres" && lookups != "") { split(lookups, l, " "); scans = sprintf("%d for %d requests", l[1], l[2]) }
            printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $4, $5, $6, $7, $8, $11, scans }' "$RESULTS"
    done
    echo
    awk '$4 == "s26b_unknown" { u[$1] = $7 } $4 == "s26b_revoked" { r[$1] = $7 }
         END { for (b in u) if (b in r) printf "- S26b %s: median unknown %s ms, revoked %s ms (revoked/unknown %.2f)\n", b, u[b], r[b], (u[b] > 0 ? r[b] / u[b] : 0) }' "$RESULTS"
    awk '$4 == "s26a_mistyped" { m[$1] = $8 } $4 == "exchange" && $3 == "on" && $5 == c { e[$1] = $8 }
         END { for (b in m) printf "- S26a %s: p99 mistyped %s ms (successful exchange at the same c, cache on: %s ms)\n", b, m[b], e[b] }' c="$S26_CONNECTIONS" "$RESULTS"
    echo
    echo "## Targets (exchange at c=64, cache on)"
    echo
    echo "| target | backend | PATs | measured | met | per busy core (for a disturbed run) |"
    echo "|---|---|---:|---|---|---|"
    awk -v small=$((LIVE_PATS + REVOKED_PATS)) '$3 == "on" && $5 == 64 && ($4 == "exchange" || $4 == "cc") { k = $1 " " $2; v[k, $4] = $6; p[k, $4] = $8; c[k, $4] = ($12 > 0 ? $6 * 100 / $12 : 0)
            if ($4 == "exchange" && !(k in seen)) { seen[k] = 1; order[++n] = k } }
         END { for (i = 1; i <= n; i++) { k = order[i]; split(k, a, " ")
                 printf "| >= 12,000 req/s, p99 <= 10 ms | %s | %s | %s req/s, p99 %s ms | %s | %.0f req/s |\n", a[1], a[2], v[k, "exchange"], p[k, "exchange"],
                   (v[k, "exchange"] >= 12000 && p[k, "exchange"] <= 10 ? "yes" : "no"), c[k, "exchange"]
                 r = (v[k, "cc"] > 0 ? v[k, "exchange"] / v[k, "cc"] : 0)
                 rc = (c[k, "cc"] > 0 ? c[k, "exchange"] / c[k, "cc"] : 0)
                 printf "| >= 80 %% of client_credentials | %s | %s | %.0f %% | %s | %.0f %% |\n", a[1], a[2], r * 100, (r >= 0.8 ? "yes" : "no"), rc * 100 }
               for (i = 1; i <= n; i++) { k = order[i]; split(k, a, " "); if (a[2] != small) continue
                 for (j = 1; j <= n; j++) { k2 = order[j]; split(k2, b, " "); if (b[1] != a[1] || b[2] == small) continue
                   d = (v[k, "exchange"] > 0 ? v[k2, "exchange"] / v[k, "exchange"] - 1 : 0)
                   dc = (c[k, "exchange"] > 0 ? c[k2, "exchange"] / c[k, "exchange"] - 1 : 0)
                   printf "| flat within 10 %% from %s to %s PATs | %s | | %+.1f %% | %s | %+.1f %% |\n", small, b[2], a[1], d * 100, (d >= -0.1 && d <= 0.1 ? "yes" : "no"), dc * 100 } } }' "$RESULTS"
    echo
    echo "The targets are judged on req/s and p99 as measured. When 'other CPU' is not near 0 the"
    echo "server did not have its core: the per-busy-core column (req/s divided by the server's"
    echo "CPU share) is then the better guide, but it is not what the targets say."
    echo
    echo "## Servers"
    echo
    echo "| backend | PATs | cache | VmRSS after runs (MiB) | VmHWM (MiB) | WARN/ERROR log lines |"
    echo "|---|---:|---|---:|---:|---:|"
    awk '{ printf "| %s | %s | %s | %.1f | %.1f | %s |\n", $1, $2, $3, $4 / 1024, $5 / 1024, $6 }' "$SERVERS"
    echo
    unexpected="$(awk '($4 == "cc" || $4 == "exchange") && ($10 > 0 || $9 > 0) { n++ } END { print n + 0 }' "$RESULTS")"
    if [ "$unexpected" = 0 ]; then
        echo "- every client_credentials and exchange response was 200, with no socket errors"
    else
        echo "- WARNING: $unexpected happy-path runs had non-200 responses or socket errors (see 'All runs')"
    fi
    saturated="$(awk '$14 >= 90 { printf "%s%s %s %s c=%s (%s%%)", sep, $1, $3, $4, $5, $14; sep = ", " }' "$RESULTS")"
    if [ -n "$saturated" ]; then
        echo "- WARNING: wrk's one thread was near saturation (>= 90% CPU) in: $saturated"
    else
        echo "- wrk's one thread stayed below 90% CPU in every run"
    fi
    echo "- server CPU % is the server's CPU time over wall time (100 = its core saturated; in brackets"
    echo "  the kernel's part); req/s per busy core = req/s / server CPU; PG CPU % is the CPU of the"
    echo "  PostgreSQL backends serving the bench database (not pinned, they share the machine);"
    echo "  'other CPU' is the rest of the machine's busy time, in cores (noise when not near 0)."
    echo "- 'unexpected status' counts responses other than 200 (400 for S26), per wrk's Lua;"
    echo "  'responses' lists the status codes seen."
} >"$REPORT"
cat "$REPORT"
log "report written to $REPORT (run took $((WALL / 60)) min $((WALL % 60)) s)"
