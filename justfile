# Banter's commands. `just --list` shows them all.
#
# Tools this project installs (`just setup`) go to $BANTER_TOOLS (default ~/.cache/banter-tools),
# and cargo-installed ones to ~/.cargo/bin.

set shell := ["bash", "-euo", "pipefail", "-c"]

tools := env_var_or_default("BANTER_TOOLS", env_var("HOME") / ".cache/banter-tools")
target := env_var_or_default("CARGO_TARGET_DIR", justfile_directory() / "target")
export PATH := tools / "npm/node_modules/.bin" + ":" + env_var("HOME") / ".cargo/bin:" + env_var("PATH")

# List the recipes.
default:
    @just --list

# Install what this machine lacks (idempotent, quick when nothing is missing).
setup:
    rustup component add rustfmt clippy 2>/dev/null || true
    rustup target add wasm32-unknown-unknown
    command -v just >/dev/null || cargo install --locked just

# Run Banter on http://localhost:3000 (pass flags after: `just run --listen 127.0.0.1:4000`).
run *ARGS: setup
    cargo run --release -p banter-server -- {{ARGS}}

# Every check CI runs: formatting, lints, all tests.
test: setup lint
    cargo build -p banter-protocol --target wasm32-unknown-unknown
    cargo test -p banter-protocol -p banter-server
    just test-conformance

# The contract checked by a client we did not write (Python, from docs/protocol.md alone).
test-conformance:
    cargo build --release -p banter-server
    BANTER_BIN="{{target}}/release/banter" bash conformance/run.sh

# Formatting and clippy with warnings as errors.
lint:
    cargo fmt --all -- --check
    cargo clippy -p banter-protocol -p banter-server --all-targets -- -D warnings
