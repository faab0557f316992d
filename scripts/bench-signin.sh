#!/usr/bin/env bash
# Password sign-ins sharing a node with token traffic (issue 17; `just bench-signin`). On the
# release build, embedded default, built-in defaults (argon2id m=19 MiB t=2 p=1,
# passwords.max_concurrent_hashes = 2), the server pinned to one core (BENCH_SERVER_CPU),
# the driver and wrk on another (BENCH_LOAD_CPU), it measures for each binary in one run:
#   budget       argon2id hashes per second, one after another, on the server's core (the
#                one-core argon2 budget; bench-signin budget);
#   sign-ins     password steps accepted per second at c = 4, 16, 64 (BENCH_CONCURRENCIES),
#                each sign-in from its own loopback address, one account each; after the
#                c=16 run a sample (BENCH_CODE_SAMPLE) completes the emailed-code step from
#                the outbox;
#   tokens       client_credentials with wrk, paced at about BENCH_TOKEN_RATE/s and flat out,
#                alone and while sign-ins saturate (c=16, from their own addresses);
#   memory       the server's VmHWM after all of it, and VmRSS after BENCH_IDLE_WAIT idle s.
# With BENCH_BEFORE_BIN (a lanyard binary built from an earlier commit) the same runs are
# made on it first: the report has a before and an after column.
#
#   bash scripts/bench-signin.sh                         # the after binary only
#   BENCH_BEFORE_BIN=/path/to/old/lanyard bash scripts/bench-signin.sh
#   BENCH_SMOKE=1 bash scripts/bench-signin.sh           # smoke run (dev build, short runs)
#
# Accounts are made once with `lanyard user create` into a template data folder that each
# binary's run copies, so every binary sees the same database and each account signs in at
# most once per run (the per-account emailed-code limit is 5 an hour; no limit is raised).
#
# Environment:
#   BENCH_SECONDS         seconds per timed run (default 10; smoke 2)
#   BENCH_ACCOUNTS        accounts made (default 1200; smoke 40)
#   BENCH_CONCURRENCIES   sign-in concurrencies alone (default "4 16 64"; smoke "4"; 16 is
#                         always among them)
#   BENCH_TOKEN_RATE      paced token rate (default 1900)
#   BENCH_CODE_SAMPLE     flows taken through the emailed code after the c=16 run (default 20)
#   BENCH_IDLE_WAIT       idle seconds before the idle RSS is read (default 6)
#   BENCH_PROFILE         cargo profile (default release; smoke dev)
#   BENCH_SKIP_BUILD=1    use the binaries as they are
#   BENCH_SERVER_CPU / BENCH_LOAD_CPU   (default 0 and 1)
#   BENCH_QUIET_WAIT      seconds to wait for an idle machine before each run (default 10)
#   BENCH_OUT             directory for the report (default bench-results/)
set -euo pipefail

BENCH_NAME=bench-signin
# shellcheck source=scripts/bench/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"

if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    : "${BENCH_SECONDS:=2}" "${BENCH_ACCOUNTS:=40}" "${BENCH_CONCURRENCIES:=4}"
    : "${BENCH_PROFILE:=dev}" "${BENCH_QUIET_WAIT:=0}" "${BENCH_CODE_SAMPLE:=3}" "${BENCH_IDLE_WAIT:=3}"
fi
SECS="${BENCH_SECONDS:-10}"
ACCOUNTS="${BENCH_ACCOUNTS:-1200}"
CONCS="${BENCH_CONCURRENCIES:-4 16 64}"
TOKEN_RATE="${BENCH_TOKEN_RATE:-1900}"
CODE_SAMPLE="${BENCH_CODE_SAMPLE:-20}"
IDLE_WAIT="${BENCH_IDLE_WAIT:-6}"
PROFILE="${BENCH_PROFILE:-release}"
SERVER_CPU="${BENCH_SERVER_CPU:-0}"
LOAD_CPU="${BENCH_LOAD_CPU:-1}"
QUIET_WAIT="${BENCH_QUIET_WAIT:-10}"
OUT="${BENCH_OUT:-$ROOT/bench-results}"
LANYARD_BIN="${LANYARD_BIN:-$(bench_bin_dir "$PROFILE")/lanyard}"
DRIVER="${BENCH_DRIVER:-$(bench_bin_dir "$PROFILE")/bench-signin}"
BEFORE_BIN="${BENCH_BEFORE_BIN:-}"
APP=bench-app
CC=bench-cc
TOKEN_CONNS=16
SATURATING=16
# The saturating concurrency is also measured alone: the report compares against it.
case " $CONCS " in *" $SATURATING "*) ;; *) CONCS="$CONCS $SATURATING" ;; esac

bench_scrub_env
bench_require_wrk
for tool in taskset curl python3 awk; do command -v "$tool" >/dev/null || die "$tool is required"; done
[ -z "$BEFORE_BIN" ] || [ -x "$BEFORE_BIN" ] || die "BENCH_BEFORE_BIN=$BEFORE_BIN is not an executable"

WORK="$(bench_work_dir)"
SERVER_PID=""
trap 'bench_stop "$SERVER_PID"; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

bench_build_signin "$PROFILE"

PORT="$(bench_free_port)"
URL="http://127.0.0.1:$PORT"
echo "# bench-signin: built-in defaults only" >"$WORK/lanyard.toml"

# --- the accounts, once ----------------------------------------------------------------------
TEMPLATE="$WORK/template"
bench_server_env "$TEMPLATE" "$URL" "$WORK/lanyard.toml"
cli() { "$LANYARD_BIN" "$@" 2>"$WORK/cli.log" || { cat "$WORK/cli.log" >&2; die "lanyard $1 $2 failed"; }; }
cli migrate >/dev/null
cli client create --id "$APP" --redirect-uri https://rp.example.com/cb >/dev/null
created="$(cli client create --id "$CC" --grant client_credentials --auth client_secret_basic \
    --scope api:read --json)"
SECRET="$(printf '%s' "$created" | sed -n 's/.*"client_secret" *: *"\([^"]*\)".*/\1/p')"
[ -n "$SECRET" ] || die "no client_secret in: $created"
export BENCH_BASIC BENCH_LUA_DIR="$ROOT/scripts/bench" BENCH_SCOPE=api:read
BENCH_BASIC="$(printf '%s:%s' "$CC" "$SECRET" | base64 -w0)"
head -c 24 /dev/urandom | base64 | tr -d '/+=' | sed 's/^/bench signin /' >"$WORK/password"
log "creating $ACCOUNTS accounts"
for i in $(seq "$ACCOUNTS"); do
    email="$(printf 'signin-%05d@bench.test' "$i")"
    echo "$email" >>"$WORK/emails"
    "$LANYARD_BIN" user create --email "$email" --name "Bench $i" --password-stdin \
        <"$WORK/password" >/dev/null 2>"$WORK/cli.log" || { cat "$WORK/cli.log" >&2; die "lanyard user create failed"; }
done

driver() { taskset -c "$LOAD_CPU" "$DRIVER" "$@"; }

# Each run takes the next accounts in turn, so no account signs in twice in a run.
NEXT=0
flows() { # COUNT: prepares COUNT flows into $WORK/flows, each from its own address
    local count="$1" users="$WORK/users"
    [ "$count" -le "$ACCOUNTS" ] || count="$ACCOUNTS"
    { tail -n +"$((NEXT + 1))" "$WORK/emails"; head -n "$NEXT" "$WORK/emails"; } >"$users"
    NEXT=$(((NEXT + count) % ACCOUNTS))
    driver prepare --base "$URL" --kind identity --client "$APP" --users "$users" --count "$count" \
        --own-sources --out "$WORK/flows" || die "preparing flows failed"
}

# signins C [extra measure args]: one timed sign-in run; prints the driver's JSON.
signins() {
    local c="$1"
    shift
    driver measure --flows "$WORK/flows" --password-file "$WORK/password" --concurrency "$c" \
        --seconds "$SECS" --label "c$c" "$@" || die "the driver failed"
}

# tokens paced|flat: one wrk run; prints "rps p99_ms errors".
tokens() {
    local script=post-token.lua out="$WORK/wrk.out"
    if [ "$1" = paced ]; then
        script=paced-token.lua
        export BENCH_PAUSE_MS=$(((TOKEN_CONNS * 1000 + TOKEN_RATE / 2) / TOKEN_RATE))
    fi
    taskset -c "$LOAD_CPU" wrk -t1 -c"$TOKEN_CONNS" -d"${SECS}s" --latency \
        -s "$ROOT/scripts/bench/$script" "$URL/token" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
    grep '^WRK_RESULT' "$out" | awk '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
        printf "%.0f %.2f %d\n", r["requests"] / (r["duration_us"] / 1e6), r["p99_us"] / 1000,
            r["status"] + r["connect"] + r["read"] + r["write"] + r["timeout"] }'
}

# tokens_with_signins paced|flat: wrk and a saturating sign-in run (of the flows prepared
# before) at once; prints "rps p99_ms errors signins_per_s".
tokens_with_signins() {
    signins "$SATURATING" >"$WORK/during.json" &
    local pid=$!
    local t
    t="$(tokens "$1")"
    wait "$pid" || die "the driver failed"
    echo "$t $(python3 -c 'import json,sys; print("%.1f" % json.load(open(sys.argv[1]))["per_sec"])' "$WORK/during.json")"
}

RESULTS="$WORK/results"
: >"$RESULTS"
put() { echo "$1 $2 $3" >>"$RESULTS"; } # binary key value

measure_binary() { # LABEL BINARY
    local label="$1" bin="$2" data="$WORK/data-$1" json c
    rm -rf "$data"
    cp -a "$TEMPLATE" "$data"
    bench_server_env "$data" "$URL" "$WORK/lanyard.toml"
    log "$label: argon2 budget on core $SERVER_CPU"
    put "$label" budget "$(taskset -c "$SERVER_CPU" "$DRIVER" budget --seconds 3 |
        python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["per_sec"])')"
    log "$label: starting $bin on core $SERVER_CPU"
    : >"$WORK/server-$label.log"
    LANYARD_LOG="${LANYARD_LOG:-warn}" taskset -c "$SERVER_CPU" "$bin" serve >"$WORK/server-$label.log" 2>&1 &
    SERVER_PID=$!
    bench_wait_ready "$URL/readyz" "$SERVER_PID" "$WORK/server-$label.log"
    put "$label" rss_start "$(($(bench_rss_kib "$SERVER_PID" VmRSS) / 1024))"

    for c in $CONCS; do
        flows $((c + 80 * SECS))
        bench_wait_quiet "$QUIET_WAIT"
        local extra=()
        [ "$c" = "$SATURATING" ] && extra=(--outbox "$data/outbox" --complete-codes "$CODE_SAMPLE")
        json="$(signins "$c" "${extra[@]}")"
        log "$label sign-ins c=$c: $json"
        put "$label" "signins_c$c" "$(printf '%s' "$json" | python3 -c 'import json,sys; o=json.load(sys.stdin); print("%.1f/%d/%d/%d/%d/%.0f" % (o["per_sec"], o["ok"], o["unexpected"], o["codes_tried"], o["codes_ok"], o["p99_ms"]))')"
    done
    put "$label" hwm_signins "$(($(bench_rss_kib "$SERVER_PID" VmHWM) / 1024))"

    # Warm-up (keys, caches, connections), not reported.
    tokens flat >/dev/null
    bench_wait_quiet "$QUIET_WAIT"
    put "$label" tokens_paced "$(tokens paced)"
    flows $((SATURATING + 80 * SECS))
    bench_wait_quiet "$QUIET_WAIT"
    put "$label" tokens_paced_signins "$(tokens_with_signins paced)"
    bench_wait_quiet "$QUIET_WAIT"
    put "$label" tokens_flat "$(tokens flat)"
    flows $((SATURATING + 80 * SECS))
    bench_wait_quiet "$QUIET_WAIT"
    put "$label" tokens_flat_signins "$(tokens_with_signins flat)"
    log "$label: idle for ${IDLE_WAIT}s"
    sleep "$IDLE_WAIT"
    put "$label" rss_idle "$(($(bench_rss_kib "$SERVER_PID" VmRSS) / 1024))"
    put "$label" hwm "$(($(bench_rss_kib "$SERVER_PID" VmHWM) / 1024))"
    put "$label" warnings "$(grep -cE '(ERROR|WARN)' "$WORK/server-$label.log" || true)"
    bench_stop "$SERVER_PID"
    SERVER_PID=""
}

LABELS=""
if [ -n "$BEFORE_BIN" ]; then
    measure_binary before "$BEFORE_BIN"
    LABELS="before"
fi
measure_binary after "$LANYARD_BIN"
LABELS="$LABELS after"

mkdir -p "$OUT"
REPORT="$OUT/bench-signin-$(date -u +%Y%m%dT%H%M%SZ).md"
python3 - "$RESULTS" "$CONCS" "$SECS" "$TOKEN_RATE" "$SATURATING" $LABELS >"$REPORT" <<'EOF'
import sys
results, concs, secs, rate, sat, *labels = sys.argv[1:]
r = {}
for line in open(results):
    label, key, value = line.rstrip("\n").split(" ", 2)
    r.setdefault(label, {})[key] = value

def signin(label, c):
    per_sec, ok, unexpected, tried, codes_ok, p99 = r[label]["signins_c%s" % c].split("/")
    return float(per_sec), int(ok), int(unexpected), int(tried), int(codes_ok), p99

def tok(label, key):
    parts = r[label][key].split()
    return [float(p) for p in parts]

print("# bench-signin: %s s a run, server on one core, paced tokens at ~%s/s, sign-ins saturating at c=%s" % (secs, rate, sat))
print()
print("| what | " + " | ".join(labels) + " | goal |")
print("|---|" + "---:|" * len(labels) + "---|")
row = lambda what, cells, goal: print("| %s | %s | %s |" % (what, " | ".join(cells), goal))
row("one-core argon2 budget (hashes/s)", [r[l]["budget"] for l in labels], "")
for c in concs.split():
    cells = []
    for l in labels:
        per_sec, ok, unexpected, _, _, p99 = signin(l, c)
        budget = float(r[l]["budget"])
        cells.append("%.1f/s = %.0f %% of budget (p99 %s ms; %d refused or failed)" % (per_sec, 100 * per_sec / budget, p99, unexpected))
    row("password steps accepted, c=%s" % c, cells, "≥ 90 % of the budget")
cells = []
for l in labels:
    _, _, _, tried, codes_ok, _ = signin(l, sat)
    cells.append("%d of %d" % (codes_ok, tried))
row("emailed code completed (sample, c=%s run)" % sat, cells, "all")
row("server VmHWM after the sign-in runs (MiB)", [r[l]["hwm_signins"] for l in labels], "")
row("server VmHWM at the end (MiB)", [r[l]["hwm"] for l in labels], "≤ 2 × 19 + 40 = 78")
row("server VmRSS at start / idle after (MiB)", ["%s / %s" % (r[l]["rss_start"], r[l]["rss_idle"]) for l in labels], "idle < 40")
cells = []
for l in labels:
    a = tok(l, "tokens_paced"); b = tok(l, "tokens_paced_signins")
    cells.append("%.2f → %.2f ms = %.1f× (at %.0f → %.0f/s; sign-ins %.1f/s)" % (a[1], b[1], b[1] / a[1], a[0], b[0], b[3]))
row("token p99, paced: alone → sign-ins saturating", cells, "< 2×")
cells = []
for l in labels:
    a = tok(l, "tokens_flat"); b = tok(l, "tokens_flat_signins")
    alone_signins = signin(l, sat)[0]
    cells.append("%.0f → %.0f/s = %.0f %% (p99 %.1f ms); sign-ins %.1f/s = %.0f %% of alone" % (a[0], b[0], 100 * b[0] / a[0], b[1], b[3], 100 * b[3] / alone_signins))
row("tokens flat out: alone → sign-ins saturating", cells, "tokens ≥ 60 %, sign-ins ≥ 25 %")
print()
for l in labels:
    print("- %s: token errors (paced, paced+sign-ins, flat, flat+sign-ins): %s; WARN/ERROR server log lines: %s" % (
        l, ", ".join("%d" % tok(l, k)[2] for k in ["tokens_paced", "tokens_paced_signins", "tokens_flat", "tokens_flat_signins"]), r[l]["warnings"]))
EOF
cat "$REPORT"
echo "(written to $REPORT)" >&2
