# Shared by the wrk benchmarks (bench-token.sh, bench-exchange.sh): sourced, not run.
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
