# Everyday commands; CI (.ci/run) runs the same steps.

# Run the server on the embedded default.
serve:
    cargo run -p lanyard-server -- serve

# The README's test command (the embedded default: SQLite).
test:
    cargo test --workspace

# The same suites on PostgreSQL + Redis (local services).
test-services:
    LANYARD_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres LANYARD_TEST_REDIS_URL=redis://127.0.0.1:6379 LANYARD_REQUIRE_SERVICES=1 cargo test --workspace

# Black-box interop suite with the npm openid-client relying party.
interop:
    cargo build -p lanyard-server && bash tests/interop/run.sh

# Crate layering (who may import whom), licences and sources: cargo-deny, see deny.toml.
deny:
    bash scripts/deny.sh

# Everything CI runs.
ci:
    bash .ci/run

# Signing micro-benchmark (criterion).
bench-sign:
    cargo bench -p lanyard-crypto --bench sign

# Token-endpoint benchmark: Lanyard vs oidc-provider, pinned cores, wrk (BENCH_SECONDS=3 for a
# smoke run). Figures and method: docs/performance.md.
bench-token:
    bash scripts/bench-token.sh

# PAT exchange (RFC 8693) benchmark against client_credentials: SQLite and PostgreSQL + Redis,
# 100 and 1,000,000 PATs, cache on and off, S26 refusals (BENCH_SECONDS=2 for a smoke run).
# Figures and method: docs/performance.md.
bench-exchange:
    bash scripts/bench-exchange.sh

# Site import benchmark (issue 13), two parts (BENCH_PARTS, default "import login"):
# import: `lanyard site import` of 100,000 legacy users (CSV and JSON, first run and idempotent
# re-run) on SQLite and PostgreSQL; hashes are parsed, not checked, at import.
# login: the password step's sign-ins/s and p50/p99 of the legacy site login (first login per
# hash kind: bcrypt, PBKDF2, argon2id, then rehashed; repeat login) against identity login,
# one server, one run (scripts/bench-login.sh, driver bench/signin).
# BENCH_SMOKE=1 for a smoke run (dev build, 10,000 users, a few sign-ins). Figures and method:
# docs/performance.md.
bench-import:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ "${BENCH_SMOKE:-0}" = 1 ]; then
        export BENCH_USERS="${BENCH_USERS:-10000}" BENCH_PROFILE="${BENCH_PROFILE:-dev}"
    fi
    parts=" ${BENCH_PARTS:-import login} "
    case "$parts" in *" import "*) bash scripts/bench-import.sh ;; esac
    case "$parts" in *" login "*) bash scripts/bench-login.sh ;; esac

# Password sign-ins sharing a node with token traffic (issue 17), server pinned to one core:
# password steps/s at c=4,16,64 against the one-core argon2 budget, the emailed code for a
# sample, server VmHWM and idle RSS, token p99 (paced, ~1,900/s) and tokens flat out, alone
# and while sign-ins saturate. BENCH_BEFORE_BIN=<an older lanyard binary> adds a "before"
# column; BENCH_SMOKE=1 for a smoke run. Figures and method: docs/performance.md.
bench-signin:
    bash scripts/bench-signin.sh

# Headless-browser test: the sign-in journey in Debian Chromium, axe-core on every page.
browser:
    bash scripts/install-browser.sh && cargo build -p lanyard-server && bash tests/browser/run.sh
