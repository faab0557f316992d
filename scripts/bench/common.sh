# Shared by the bench scripts (bench-token.sh, bench-exchange.sh, bench-login.sh): sourced, not run.
# Before sourcing, set BENCH_NAME (used in error messages).

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

# --- shared by bench-login.sh (bench-exchange.sh keeps its own copies of these) -------------

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

# bench_wait_ready URL PID LOG: until URL answers, or die with the log's tail.
bench_wait_ready() {
    for _ in $(seq 600); do
        kill -0 "$2" 2>/dev/null || { tail -20 "$3" >&2; die "the server exited during start-up"; }
        if curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null; then return; fi
        sleep 0.1
    done
    die "the server did not become ready within 60 s"
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

# CPU seconds (user + system) of a process.
bench_proc_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"
}
# Busy CPU seconds of the whole machine.
bench_machine_busy() {
    awk -v hz="$(getconf CLK_TCK)" '/^cpu / { print ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat
}

# Other engineers' builds share the machine: wait up to $1 seconds until under 0.2 cores are
# busy over one second (the server idle), then measure anyway, saying so.
bench_wait_quiet() {
    local deadline=$((SECONDS + $1)) b0 b1
    while :; do
        b0="$(bench_machine_busy)"
        sleep 1
        b1="$(bench_machine_busy)"
        if awk -v a="$b0" -v b="$b1" 'BEGIN { exit !(b - a < 0.2) }'; then return; fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "machine still busy ($(awk -v a="$b0" -v b="$b1" 'BEGIN { printf "%.2f", b - a }') cores); measuring anyway"
            return
        fi
        sleep 1
    done
}
