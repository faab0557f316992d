#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 30 s each) with cargo-fuzz/libFuzzer,
# starting from the committed seeds in fuzz/seeds and the local corpus in fuzz/corpus.
# Installs cargo-fuzz into .tools/ if it is missing. A crash leaves its input in
# fuzz/artifacts/<target>/ and fails the script.
#   scripts/fuzz.sh [seconds-per-target] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(jws redirect_uri params codes pat_token)

export PATH="$PWD/.tools/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2 --root .tools
fi

cd fuzz
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    # Git keeps no empty folders: a target whose input is structured (arbitrary tuples) has
    # no hand-written seeds, and libFuzzer exits on a missing corpus folder.
    dirs=("corpus/$target")
    [ -d "seeds/$target" ] && dirs+=("seeds/$target")
    echo "=== fuzz $target for ${seconds}s"
    # No sanitizer: the targets are safe Rust, and ASan needs a nightly compiler.
    cargo fuzz run --sanitizer none "$target" "${dirs[@]}" -- \
        -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1
done
