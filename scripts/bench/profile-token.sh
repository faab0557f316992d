#!/usr/bin/env bash
# Where the time goes on the client_credentials hot path (or another GET path). Two tools:
#
#   callgrind (default): the release server under valgrind's callgrind: deterministic
#     instruction counts by function, inclusive and self, unaffected by a busy machine; user
#     space only (the kernel's share is not counted). Valgrind slows the server some 40 times,
#     so a 30 s run is a few thousand requests.
#   perf: the release server at full speed, pinned to core 0 with wrk on core 1, sampled by
#     `perf record -e cpu-clock` (no hardware counters needed): time shares by symbol,
#     kernel included. Needs a quiet machine.
#
#   bash scripts/bench/profile-token.sh                         # callgrind, 30 s of /token
#   PROFILE_TOOL=perf PROFILE_SECONDS=10 bash scripts/bench/profile-token.sh
#   PROFILE_PATH=/jwks bash scripts/bench/profile-token.sh
#   PROFILE_GRANT=exchange bash scripts/bench/profile-token.sh  # PAT exchange (RFC 8693)
#
# Environment: LANYARD_BIN (default target/release/lanyard; not built here), PROFILE_TOOL,
# PROFILE_SECONDS (default 30), PROFILE_CONNECTIONS (default 4 for callgrind, 64 for perf),
# PROFILE_PATH (default /token), PROFILE_OUT (directory for the raw profile and the reports;
# default bench-results/), PROFILE_GRANT (client_credentials, the default, or exchange: a
# public client exchanges 20 PATs in turn for tokens for one registered API, as
# scripts/bench-exchange.sh does), PROFILE_PAT_CACHE (on, the default, or off).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LANYARD_BIN="${LANYARD_BIN:-$ROOT/target/release/lanyard}"
TOOL="${PROFILE_TOOL:-callgrind}"
SECONDS_TO_RUN="${PROFILE_SECONDS:-30}"
URL_PATH="${PROFILE_PATH:-/token}"
GRANT="${PROFILE_GRANT:-client_credentials}"
PAT_CACHE="${PROFILE_PAT_CACHE:-on}"
OUT_DIR="${PROFILE_OUT:-$ROOT/bench-results}"
export BENCH_LUA_DIR="$ROOT/scripts/bench"
export BENCH_SCOPE="api:read"

die() {
    echo "profile-token: $*" >&2
    exit 1
}
case "$GRANT" in client_credentials | exchange) ;; *) die "PROFILE_GRANT must be client_credentials or exchange" ;; esac
case "$PAT_CACHE" in on | off) ;; *) die "PROFILE_PAT_CACHE must be on or off" ;; esac
case "$TOOL" in
callgrind)
    CONNS="${PROFILE_CONNECTIONS:-4}"
    tools="valgrind callgrind_control callgrind_annotate"
    ;;
perf)
    CONNS="${PROFILE_CONNECTIONS:-64}"
    tools="perf taskset"
    ;;
*) die "PROFILE_TOOL must be callgrind or perf" ;;
esac
for tool in $tools wrk curl; do
    command -v "$tool" >/dev/null || die "$tool is required"
done
[ -x "$LANYARD_BIN" ] || die "no binary at $LANYARD_BIN"
for var in $(compgen -e | grep "^LANYARD_" || true); do
    case "$var" in LANYARD_BIN | LANYARD_LOG) ;; *) unset "$var" ;; esac
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/profile-token.XXXXXX")"
PID=""
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$((20000 + RANDOM % 20000))
URL="http://127.0.0.1:$PORT"
export LANYARD_DATA_DIR="$WORK/data" LANYARD_LISTEN="127.0.0.1:$PORT" LANYARD_ISSUER="$URL"
export LANYARD_CONFIG="$WORK/lanyard.toml"
echo "# profile-token: defaults only" >"$LANYARD_CONFIG"
mkdir -p "$LANYARD_DATA_DIR"
if [ "$GRANT" = exchange ]; then
    printf '[[resources]]\nidentifier = "https://api.example.com"\nscopes = ["repo:read"]\n' >>"$LANYARD_CONFIG"
    export LANYARD_PATS__CACHE="$([ "$PAT_CACHE" = on ] && echo true || echo false)"
    export BENCH_MODE=exchange BENCH_CLIENT_ID=tool BENCH_AUDIENCE="https://api.example.com"
    export BENCH_TOKENS="$WORK/pats"
    "$LANYARD_BIN" client create --id tool --grant urn:ietf:params:oauth:grant-type:token-exchange \
        --auth none --json >/dev/null 2>"$WORK/create.log" || { cat "$WORK/create.log" >&2; die "lanyard client create failed"; }
    head -c 24 /dev/urandom | base64 | "$LANYARD_BIN" user create --email owner@bench.test \
        --name Owner --password-stdin --json >/dev/null 2>"$WORK/create.log" ||
        { cat "$WORK/create.log" >&2; die "lanyard user create failed"; }
    for i in $(seq 20); do
        "$LANYARD_BIN" pat create --user owner@bench.test --name "profile $i" --scope repo:read \
            --audience https://api.example.com --json 2>"$WORK/create.log" |
            sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p' >>"$BENCH_TOKENS"
    done
    [ "$(wc -l <"$BENCH_TOKENS")" = 20 ] || { cat "$WORK/create.log" >&2; die "lanyard pat create failed"; }
fi

created="$("$LANYARD_BIN" client create --id bench --grant client_credentials \
    --auth client_secret_basic --scope "$BENCH_SCOPE" --json 2>"$WORK/create.log")" ||
    { cat "$WORK/create.log" >&2; die "lanyard client create failed"; }
secret="$(printf '%s' "$created" | sed -n 's/.*"client_secret" *: *"\([^"]*\)".*/\1/p')"
BENCH_BASIC="$(printf 'bench:%s' "$secret" | base64 -w0)"
export BENCH_BASIC

if [ "$TOOL" = callgrind ]; then
    valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
        "$LANYARD_BIN" serve >"$WORK/server.log" 2>&1 &
    wrk_cmd=(wrk)
else
    taskset -c 0 "$LANYARD_BIN" serve >"$WORK/server.log" 2>&1 &
    wrk_cmd=(taskset -c 1 wrk)
fi
PID=$!
for _ in $(seq 600); do
    curl -fsS -o /dev/null --max-time 2 "$URL/readyz" 2>/dev/null && break
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.2
done

script="$BENCH_LUA_DIR/post-token.lua"
[ "$URL_PATH" = /token ] || script="$BENCH_LUA_DIR/get.lua"
[ "$GRANT" = client_credentials ] || script="$BENCH_LUA_DIR/exchange.lua"
# Warm-up: the client lookup fills the cache, allocator and runtime reach a steady state.
"${wrk_cmd[@]}" -t1 -c"$CONNS" -d5s --timeout 10s -s "$script" "$URL$URL_PATH" >/dev/null

run_load() {
    "${wrk_cmd[@]}" -t1 -c"$CONNS" -d"${SECONDS_TO_RUN}s" --timeout 10s -s "$script" "$URL$URL_PATH" |
        grep "^WRK_RESULT"
}
mkdir -p "$OUT_DIR"
stamp="$(basename "$URL_PATH" | tr -c "a-z0-9\n" "-")-$(date -u +%Y%m%dT%H%M%SZ)"
[ "$GRANT" = client_credentials ] || stamp="exchange-cache-$PAT_CACHE-$stamp"

if [ "$TOOL" = callgrind ]; then
    callgrind_control --zero "$PID" >/dev/null
    result="$(run_load)"
    callgrind_control --dump "$PID" >/dev/null
else
    perf record -q -e cpu-clock -F 999 -p "$PID" -o "$WORK/perf.data" \
        -- sleep "$((SECONDS_TO_RUN + 1))" 2>"$WORK/perf.log" &
    perf_pid=$!
    sleep 0.5
    result="$(run_load)"
    wait "$perf_pid" || { cat "$WORK/perf.log" >&2; die "perf record failed"; }
fi
echo "$result" >&2
requests="$(echo "$result" | sed -n "s/.*requests=\([0-9]*\).*/\1/p")"
kill -TERM "$PID"
wait "$PID" 2>/dev/null || true
PID=""

if [ "$TOOL" = callgrind ]; then
    # callgrind writes the dump triggered by --dump as <file>.1 and the final one at exit.
    dump="$(find "$WORK" -maxdepth 1 -name "callgrind.out.*" | head -1)"
    [ -n "$dump" ] || dump="$WORK/callgrind.out"
    cp "$dump" "$OUT_DIR/callgrind-$stamp.out"
    callgrind_annotate --inclusive=yes --threshold=100 "$dump" >"$OUT_DIR/callgrind-$stamp.inclusive.txt"
    callgrind_annotate --threshold=100 "$dump" >"$OUT_DIR/callgrind-$stamp.self.txt"
    total="$(sed -n 's/^\([0-9,]*\) (100.0%).*PROGRAM TOTALS.*/\1/p' "$OUT_DIR/callgrind-$stamp.self.txt" | tr -d ,)"
    echo "instructions in the profiled window: $total; requests: $requests; per request: $((total / requests))"
    echo "profile: $OUT_DIR/callgrind-$stamp.out (annotations .inclusive.txt, .self.txt)"
else
    perf report -i "$WORK/perf.data" --stdio --no-children --sort dso,sym --percent-limit 0.2 \
        2>/dev/null >"$OUT_DIR/perf-$stamp.txt"
    # Shares by kind of work: kernel, aws-lc (ECDSA P-256 signing, SHA-2, HMAC, its DRBG),
    # the C library (malloc, free, memcpy, memset), and the rest of our binary (hyper, axum,
    # tokio, JSON, form parsing, client authentication).
    perf report -i "$WORK/perf.data" --stdio --no-children --sort dso,sym --percent-limit 0 \
        2>/dev/null | awk '
        /^#/ || NF < 3 { next }
        { pct = $1; sub(/%/, "", pct); dso = $2; sym = $0; sub(/^.*\] /, "", sym)
          if (dso ~ /kernel/) k = "kernel (TCP loopback, epoll, syscalls, scheduling)"
          else if (dso ~ /libc/) k = "libc (malloc, free, memcpy, memset)"
          else if (sym ~ /aws_lc|ecp_nistz|bignum|_block_data_order|rdrand|aes_hw|ecdsa|sha256|sha512|hmac|pkey_|felem|ec_(GFp|point|scalar|get)|^(BN|EC|EVP|ECDSA|HMAC|SHA|RAND|CRYPTO)_/) k = "aws-lc (ECDSA P-256, SHA-2, HMAC, DRBG)"
          else if (sym ~ /^sqlite3/) k = "SQLite (bundled: the PAT and account lookups)"
          else if (dso ~ /lanyard/) k = "lanyard and its Rust crates (hyper, axum, tokio, serde, base64, ...)"
          else k = "other (" dso ")"
          share[k] += pct }
        END { for (k in share) printf "%6.1f%%  %s\n", share[k], k }' | sort -rn >"$OUT_DIR/perf-$stamp.kinds.txt"
    echo "requests in the profiled window: $requests ($(echo "$result" | awk '{ split($3, d, "="); split($2, r, "="); printf "%.0f req/s", r[2] / (d[2] / 1e6) }'))"
    cat "$OUT_DIR/perf-$stamp.kinds.txt"
    echo "profile: $OUT_DIR/perf-$stamp.txt (by symbol), perf-$stamp.kinds.txt (by kind)"
fi
