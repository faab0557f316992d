#!/usr/bin/env bash
# Legacy login against identity login (issue 13; `just bench-import`'s second half): the
# throughput and latency of the PASSWORD STEP of a sign-in, at a fixed concurrency for a fixed
# time, on one server, in one run, so the ratios are comparable on a noisy machine:
#   identity        `/login/password` for identity accounts (argon2id with the server's
#                   parameters: the built-in m=19456 KiB t=2 p=1, 2 hashes at once);
#   first-bcrypt    `/sites/{slug}/login`, each user's FIRST login: the imported hash is
#   first-pbkdf2    checked, then rehashed to argon2id and stored (so about one identity
#   first-argon2    check more than the legacy hash itself);
#   repeat          the same page for users already moved to argon2id (should match identity);
#   identity-again  the identity run once more, last: how much the machine drifted.
# Legacy hashes come from the PyPI reference implementations at the libraries' default costs
# (scripts/legacy-hashes/make.py --cost realistic: bcrypt 10, passlib pbkdf2_sha256 29,000
# rounds, argon2-cffi's PasswordHasher() m=65536 KiB t=3 p=4), cached under
# $CARGO_TARGET_DIR/bench-login/.
#
# A sign-in is several requests (GET /authorize → the login page with its flow and CSRF
# cookie → for identity, the email posted → the password page). The driver
# (bench/signin, `bench-signin`) walks each flow up to the password post first, untimed
# (`prepare`), then times only the posts (`measure`): a success is a 303 to the second step
# (`/login/code`; the emailed code is written to the outbox as in the default set-up). Each
# first-login run has one fresh user per post, so it may end before its time when its users
# run out (the report says so). The server runs pinned to core 0, the driver to core 1; the
# server's CPU time is read around each timed run only.
#
# Limits: failures are what the per-address and per-account counters count, and every post
# here succeeds; but each success emails a code, and `mfa.sends_per_hour` (5 per account) and
# `mfa.sends_per_hour_per_ip` (30, all posts come from 127.0.0.1) would stop the emails after
# a few posts and so change the work measured: the bench config raises both to 1,000,000,000.
#
#   bash scripts/bench-login.sh                        # full run (release build)
#   BENCH_SMOKE=1 bash scripts/bench-login.sh          # smoke run (dev build, a few posts)
#
# Environment:
#   BENCH_BACKENDS        "sqlite postgres" (default), or one of them
#   BENCH_SECONDS         seconds per timed run (default 15; smoke 2)
#   BENCH_CONCURRENCY     posts in flight (default 8)
#   BENCH_LOGIN_USERS     legacy users per hash kind (default 600; smoke 8)
#   BENCH_LOGIN_POOL      identity accounts, and repeat-login users (default 100; smoke 4)
#   BENCH_LOGIN_FLOWS     flows prepared for the identity and repeat runs (default 2000; smoke 20)
#   BENCH_PROFILE         cargo profile (default release; smoke dev)
#   BENCH_SKIP_BUILD=1    use the binaries as they are
#   BENCH_PG_ADMIN_URL    (default postgres://postgres@127.0.0.1:5432/postgres)
#   BENCH_REDIS_URL       Redis for the PostgreSQL backend (default redis://127.0.0.1:6379)
#   BENCH_SERVER_CPU / BENCH_LOAD_CPU   cores of the server and the driver (default 0 and 1)
#   BENCH_QUIET_WAIT      seconds to wait for an idle machine before each run (default 10; smoke 0)
#   BENCH_OUT             directory for the report (default bench-results/)
set -euo pipefail

BENCH_NAME=bench-login
# shellcheck source=scripts/bench/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"

SMOKE="${BENCH_SMOKE:-0}"
if [ "$SMOKE" = 1 ]; then
    : "${BENCH_SECONDS:=2}" "${BENCH_LOGIN_USERS:=8}" "${BENCH_LOGIN_POOL:=4}"
    : "${BENCH_LOGIN_FLOWS:=20}" "${BENCH_PROFILE:=dev}" "${BENCH_QUIET_WAIT:=0}"
fi
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
SECS="${BENCH_SECONDS:-15}"
CONC="${BENCH_CONCURRENCY:-8}"
USERS="${BENCH_LOGIN_USERS:-600}"
POOL="${BENCH_LOGIN_POOL:-100}"
FLOWS="${BENCH_LOGIN_FLOWS:-2000}"
PROFILE="${BENCH_PROFILE:-release}"
PG_ADMIN_URL="${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REDIS_URL="${BENCH_REDIS_URL:-redis://127.0.0.1:6379}"
SERVER_CPU="${BENCH_SERVER_CPU:-0}"
LOAD_CPU="${BENCH_LOAD_CPU:-1}"
QUIET_WAIT="${BENCH_QUIET_WAIT:-10}"
OUT="${BENCH_OUT:-$ROOT/bench-results}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
LANYARD_BIN="${LANYARD_BIN:-$(bench_bin_dir "$PROFILE")/lanyard}"
DRIVER="${BENCH_DRIVER:-$(bench_bin_dir "$PROFILE")/bench-signin}"
RAISED=1000000000
SLUG=bench
SITE_CLIENT=bench-site-app
IDENTITY_CLIENT=bench-app

bench_scrub_env
[ "$USERS" -gt "$POOL" ] || die "BENCH_LOGIN_USERS ($USERS) must exceed BENCH_LOGIN_POOL ($POOL)"
for tool in taskset curl python3 awk; do command -v "$tool" >/dev/null || die "$tool is required"; done
for b in $BACKENDS; do
    case "$b" in sqlite | postgres) ;; *) die "unknown backend $b (sqlite or postgres)" ;; esac
done

WORK="$(bench_work_dir)"
SERVER_PID=""
leave_backend() {
    bench_stop "$SERVER_PID"
    SERVER_PID=""
    bench_pg_drop
    bench_redis_clean
}
trap 'leave_backend; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# --- the legacy users ----------------------------------------------------------------------
CACHE="$TARGET/bench-login"
VENV="$TARGET/legacy-venv"
mkdir -p "$CACHE"
bench_legacy_venv "$VENV"
CSV="$CACHE/users-$USERS.csv"
if [ ! -s "$CSV" ]; then
    log "making $CSV: $USERS users each of bcrypt, PBKDF2-SHA256, argon2id at the libraries' default costs"
    t0="$SECONDS"
    "$VENV/bin/python" scripts/legacy-hashes/make.py users $((3 * USERS)) "$CSV" \
        --formats bcrypt-2b,pbkdf2,argon2id --cost realistic
    log "   made in $((SECONDS - t0)) s"
fi
cp "$CSV.password" "$WORK/legacy.password"
# Logins by kind, in file order; the last POOL PBKDF2 users are the repeat-login users.
awk -F, -v dir="$WORK" 'NR > 1 {
    kind = ($4 ~ /^"?\$2/) ? "bcrypt" : ($4 ~ /^"?\$pbkdf2/) ? "pbkdf2" : ($4 ~ /^"?\$argon2/) ? "argon2" : "other"
    print $1 > (dir "/" kind ".all") }' "$CSV"
cp "$WORK/bcrypt.all" "$WORK/bcrypt.logins"
cp "$WORK/argon2.all" "$WORK/argon2.logins"
head -n $((USERS - POOL)) "$WORK/pbkdf2.all" >"$WORK/pbkdf2.logins"
tail -n "$POOL" "$WORK/pbkdf2.all" >"$WORK/repeat.logins"
head -c 24 /dev/urandom | base64 | tr -d '/+=' | sed 's/^/bench identity /' >"$WORK/identity.password"
for i in $(seq "$POOL"); do printf 'bench-%04d@bench.test\n' "$i"; done >"$WORK/identity.emails"

# --- build -----------------------------------------------------------------------------------
bench_build_signin "$PROFILE"

PORT="$(bench_free_port)"
URL="http://127.0.0.1:$PORT"
cat >"$WORK/lanyard.toml" <<EOF
# bench-login: built-in defaults, except the emailed-code send limits (every post of the
# bench emails a code from 127.0.0.1; the defaults would stop those emails after a few posts).
[mfa]
sends_per_hour = $RAISED
sends_per_hour_per_ip = $RAISED
EOF

cli() { "$LANYARD_BIN" "$@" >"$WORK/cli.out" 2>"$WORK/cli.log" || { cat "$WORK/cli.log" >&2; die "lanyard $1 $2 failed"; }; }

enter_backend() {
    local backend="$1"
    bench_server_env "$WORK/$backend-data" "$URL" "$WORK/lanyard.toml"
    bench_use_store "$backend"
    cli migrate
    cli client create --id "$IDENTITY_CLIENT" --redirect-uri https://rp.example.com/cb
    cli client create --id "$SITE_CLIENT" --redirect-uri https://rp.example.com/cb
    cli site create --slug "$SLUG" --name "Bench site" --client "$SITE_CLIENT"
    log "importing $((3 * USERS)) legacy users; creating $POOL identity accounts"
    cli site import --site "$SLUG" "$CSV" --json
    local email n=0
    while read -r email; do
        n=$((n + 1))
        "$LANYARD_BIN" user create --email "$email" --name "Bench $n" --password-stdin \
            <"$WORK/identity.password" >/dev/null 2>"$WORK/cli.log" ||
            { cat "$WORK/cli.log" >&2; die "lanyard user create failed"; }
    done <"$WORK/identity.emails"
    : >"$WORK/server.log"
    log "starting lanyard ($backend) on $URL (core $SERVER_CPU)"
    LANYARD_LOG="${LANYARD_LOG:-warn}" taskset -c "$SERVER_CPU" "$LANYARD_BIN" serve >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    bench_wait_ready "$URL/readyz" "$SERVER_PID" "$WORK/server.log"
}

driver() { taskset -c "$LOAD_CPU" "$DRIVER" "$@"; }

# flows KIND CLIENT USERS [COUNT]: prepares the flows of the next run into $WORK/flows.
flows() {
    local count=()
    [ -n "${4:-}" ] && count=(--count "$4")
    driver prepare --base "$URL" --kind "$1" --client "$2" --users "$3" "${count[@]}" --out "$WORK/flows"
}

RESULTS="$WORK/results"
: >"$RESULTS"

# run BACKEND SCENARIO PASSWORD_FILE: one timed run of the prepared flows.
run() {
    local backend="$1" scenario="$2" cpu0 cpu1 busy0 busy1 t0 t1 json
    bench_wait_quiet "$QUIET_WAIT"
    log "$backend $scenario: c=$CONC, up to ${SECS}s, $(wc -l <"$WORK/flows") flows (load $(cut -d' ' -f1 /proc/loadavg))"
    cpu0="$(bench_proc_cpu_total "$SERVER_PID")"
    busy0="$(bench_machine_busy)"
    t0="$(date +%s.%N)"
    json="$(driver measure --flows "$WORK/flows" --password-file "$3" --concurrency "$CONC" \
        --seconds "$SECS" --label "$scenario")" || die "the driver failed"
    t1="$(date +%s.%N)"
    cpu1="$(bench_proc_cpu_total "$SERVER_PID")"
    busy1="$(bench_machine_busy)"
    printf '%s' "$json" | python3 -c '
import json, sys
o = json.load(sys.stdin)
backend, cpu0, cpu1, busy0, busy1, t0, t1, load1 = sys.argv[1:]
wall = float(t1) - float(t0)
server = float(cpu1) - float(cpu0)
other = max(0.0, (float(busy1) - float(busy0) - server) / wall)
statuses = ",".join("%s:%d" % kv for kv in sorted(o["statuses"].items()))
print(backend, o["label"], o["ok"], "%.2f" % o["seconds"], "%.1f" % o["per_sec"], "%.1f" % o["p50_ms"],
      "%.1f" % o["p99_ms"], o["unexpected"], statuses or "-", "%.0f" % (server / wall * 100),
      "%.1f" % (o["ok"] / server if server > 0 else 0), "%.2f" % other, "yes" if o["ran_out"] else "no", load1)
' "$backend" "$cpu0" "$cpu1" "$busy0" "$busy1" "$t0" "$t1" "$(cut -d' ' -f1 /proc/loadavg)" |
        tee -a "$RESULTS" >&2
}

moved_to_argon2() { # how many site users have no legacy hash left
    local q="SELECT count(*) FROM site_users WHERE legacy_password_hash IS NULL"
    if [ -n "$PG_DB" ]; then
        psql -X -At "$LANYARD_DATABASE_URL" -c "$q"
    elif command -v sqlite3 >/dev/null; then
        sqlite3 "$LANYARD_DATA_DIR/lanyard.db" "$q"
    else
        echo "?"
    fi
}

declare -A MOVED WARNS RSS
for backend in $BACKENDS; do
    log "$backend"
    enter_backend "$backend"
    flows identity "$IDENTITY_CLIENT" "$WORK/identity.emails" "$FLOWS"
    run "$backend" identity "$WORK/identity.password"
    for kind in bcrypt pbkdf2 argon2; do
        flows site "$SITE_CLIENT" "$WORK/$kind.logins"
        run "$backend" "first-$kind" "$WORK/legacy.password"
    done
    # The repeat users' own first login, untimed, then their repeat logins.
    driver prime --base "$URL" --kind site --client "$SITE_CLIENT" --users "$WORK/repeat.logins" \
        --password-file "$WORK/legacy.password" --concurrency "$CONC" || die "priming the repeat users failed"
    flows site "$SITE_CLIENT" "$WORK/repeat.logins" "$FLOWS"
    run "$backend" repeat "$WORK/legacy.password"
    flows identity "$IDENTITY_CLIENT" "$WORK/identity.emails" "$FLOWS"
    run "$backend" identity-again "$WORK/identity.password"
    MOVED[$backend]="$(moved_to_argon2)"
    WARNS[$backend]="$(grep -cE '(ERROR|WARN)' "$WORK/server.log" || true)"
    RSS[$backend]="$((($(bench_rss_kib "$SERVER_PID" VmHWM) + 512) / 1024))"
    leave_backend
done

mkdir -p "$OUT"
REPORT="$OUT/bench-login-$(date -u +%Y%m%dT%H%M%SZ).md"
{
    echo "# bench-login: profile $PROFILE, c=$CONC, ${SECS} s a run, $(git rev-parse --short HEAD) ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "| backend | run | sign-ins | seconds | sign-ins/s | p50 ms | p99 ms | unexpected | answers | server CPU % | sign-ins per server CPU-second | other CPU (cores) | users ran out | load1 | per CPU-s vs identity |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---:|"
    awk '{ key = $1; if ($2 == "identity" || $2 == "identity-again") { id[key] += $11; idn[key]++ } line[NR] = $0 }
         END { for (i = 1; i <= NR; i++) { split(line[i], f, " "); base = (idn[f[1]] ? id[f[1]] / idn[f[1]] : 0)
               printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.2f |\n", f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11], f[12], f[13], f[14], (base > 0 ? f[11] / base : 0) } }' "$RESULTS"
    echo
    for backend in $BACKENDS; do
        echo "- $backend: site users moved to argon2id after the runs: ${MOVED[$backend]} (the first-login runs' sign-ins + $POOL repeat users); server peak RSS ${RSS[$backend]} MiB; WARN/ERROR log lines: ${WARNS[$backend]}"
    done
    echo "- legacy users: $USERS per kind, PyPI reference implementations at default costs (bcrypt 10, PBKDF2-SHA256 29,000 rounds, argon2id m=65536 t=3 p=4); identity: $POOL accounts, argon2id at the server's defaults; repeat: $POOL site users after their first login"
    echo "- 'per CPU-s vs identity' = sign-ins per server CPU-second / the mean of the two identity runs' (the noise-resistant ratio); mfa.sends_per_hour and _per_ip raised to $RAISED"
} >"$REPORT"
cat "$REPORT"
echo "(written to $REPORT)" >&2
