#!/usr/bin/env bash
# Checks the dependency graph with cargo-deny: the crate layering (bans), licences and sources
# (deny.toml), and that core's whole tree has no tokio, HTTP or database crate (deny-core.toml).
# Installs the pinned cargo-deny into .tools/ if it is missing or another version (a cold
# install compiles it from crates.io: about 5 minutes here).
# Advisories are not checked: their database is on GitHub, which this project's machines and
# CI cannot reach (see deny.toml).
#   scripts/deny.sh
set -euo pipefail
cd "$(dirname "$0")/.."
version=0.20.2

export PATH="$PWD/.tools/bin:$PATH"
if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $version" ]; then
    cargo install cargo-deny --locked --version "$version" --root .tools
fi

cargo deny check bans licenses sources
cargo deny --manifest-path crates/core/Cargo.toml --config deny-core.toml check bans
