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
setup: setup-frontend setup-browser setup-redis setup-moto
    rustup component add rustfmt clippy 2>/dev/null || true
    rustup target add wasm32-unknown-unknown
    command -v just >/dev/null || cargo install --locked just

# Build the one binary (app embedded), start it on :3000; flags pass through (`just run --history 5000`).
run *ARGS: release
    @case " {{ARGS}} " in *" --auth"*) ;; *) echo "An open server: names are not verified and nothing is private. For a private one: just run --auth accounts --auth-secret-file FILE (README, \"Try it\")." ;; esac
    "{{target}}/release/banter" {{ARGS}}

# Dependencies run once each, in order: the release build is shared by the last two.
# Every check CI runs: fmt, clippy, unit + socket tests, wasm tests, browser tests, conformance.
test: setup lint test-unit test-wasm test-e2e test-conformance bench-smoke

# The protocol and the client core (both also built for wasm32), the server and the client
# library: unit tests and real-socket tests (the cluster tests start redis-server).
test-unit: setup-redis setup-moto
    cargo build -p banter-protocol -p banter-client-core --target wasm32-unknown-unknown
    cargo test -p banter-protocol -p banter-client-core -p banter-server -p banter-client -p banter-loadgen -p banter-testkit

# moto's S3 server in a venv, for server/tests/files_s3.rs (the test also makes it if missing).
setup-moto:
    bash server/tests/s3/moto-venv.sh >/dev/null

# The contract checked by a client we did not write (Python, from docs/protocol.md alone).
test-conformance: release
    BANTER_BIN="{{target}}/release/banter" bash conformance/run.sh

# Long fuzz run: the property tests of every decoder, validation path and the server's dispatch
# (protocol/tests/fuzz.rs, server/tests/fuzz_dispatch.rs) with CASES cases each, release build
# (stable toolchain: cargo-fuzz needs nightly). The default gives well over 10 million inputs;
# each property prints its cases, inputs, panics and time. `just test` runs 64 cases each.
fuzz cases="12000":
    PROPTEST_CASES={{cases}} cargo test --release -p banter-protocol -p banter-server --test fuzz --test fuzz_dispatch -- --nocapture

# Storms against the release binary: 10,000 users join one room (memory per user, nobody kicked)
# then SIGTERM (all get 1001), and 2,000 members under a leave/join/typing storm. Prints figures.
storm:
    cargo build --release --locked -p banter-server
    STORM_USERS=10000 BANTER_BIN="{{target}}/release/banter" cargo test -p banter-server --test storm -- --nocapture --test-threads 1

# Formatting and clippy with warnings as errors, for every crate.
lint: lint-frontend
    cargo fmt --all -- --check
    cargo clippy -p banter-protocol -p banter-client-core -p banter-server -p banter-client -p banter-loadgen -p banter-testkit -p naive-axum --all-targets -- -D warnings

# Banter vs the Node `ws` and naive axum references: release build, npm ci, 3 alternating rounds
# (20-40 min); medians and ratios printed, JSON in bench/results/. Options pass through: `just bench --rounds 5`.
# `just bench --cluster`: 2 nodes + Redis beside 1 node instead (fan-out sweep, messages/s, Redis's cost).
bench *ARGS:
    bench/run.sh {{ARGS}}

# Seconds-long run of every benchmark scenario against all three servers, and of the cluster
# comparison (and its store scenario with 2 Redis shards); fails only if the tool or a server breaks, asserts nothing about speed (CI runs it
# to keep the tool working).
bench-smoke: setup-redis
    bench/run.sh --smoke
    bench/run.sh --smoke --cluster
    bench/run.sh --smoke --cluster --shards 2 --scenarios store

# --- Web app (frontend/, Trunk.toml, crates/e2e) ---
#
# Tools: trunk, wasm-bindgen pinned to Cargo.lock's version, binaryen's wasm-opt 132 from npm
# (never Debian's 108: it builds an app that dies at startup), Chromium and chromedriver.
# `just dev` builds into dist-dev/, so it never overwrites the release dist/. trunk's --offline
# (no tool downloads) also keeps cargo offline, hence the `cargo fetch` first.

# Install the web app's build tools when missing: trunk, wasm-bindgen, wasm-opt.
setup-frontend:
    rustup target add wasm32-unknown-unknown
    trunk --version 2>/dev/null | grep -q ' 0.21.14' || cargo install --locked trunk --version 0.21.14
    wasm-bindgen --version 2>/dev/null | grep -q ' 0.2.130' || cargo install wasm-bindgen-cli --version 0.2.130
    test -x "{{tools}}/npm/node_modules/.bin/wasm-opt" || npm install --prefix "{{tools}}/npm" binaryen@132.0.0

# Install Chromium and chromedriver for the browser tests when missing (apt, needs root).
setup-browser:
    @if ! command -v chromedriver >/dev/null; then \
        if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
        else echo "the browser tests need Chromium: sudo apt-get install chromium chromium-driver" >&2; exit 1; fi; fi

# Install redis-server when missing (apt, needs root): `tests/cluster*.rs` start real ones.
setup-redis:
    @if ! command -v redis-server >/dev/null; then \
        if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; \
        else echo "the cluster tests need Redis: sudo apt-get install redis-server" >&2; exit 1; fi; fi

# Build the one binary: the web app (trunk + wasm-opt) embedded in target/release/banter.
release: setup-frontend
    cargo fetch --locked
    trunk build --release --offline --locked
    cargo build --release --locked -p banter-server --features embed-frontend
    @echo "{{target}}/release/banter serves the app, the API and the WebSocket"

# Live-reload the web app on :8080 (proxies /ws and /api to a server on :3000).
dev: setup-frontend
    trunk serve --dist dist-dev

# Browser tests: headless Chromium against the release binary (built first).
test-e2e: setup-browser release
    CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}" BANTER_BIN="{{target}}/release/banter" cargo test -p banter-e2e

# The web client's logic (message store, resume, pending sends) in headless Chrome.
test-wasm: setup-frontend setup-browser
    CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}" cargo test -p banter-frontend --target wasm32-unknown-unknown

# Clippy for the web app (wasm32) and its browser tests.
lint-frontend:
    cargo clippy -p banter-frontend --target wasm32-unknown-unknown --all-targets -- -D warnings
    cargo clippy -p banter-e2e --all-targets -- -D warnings

# Headless Chromium against the release binary; median of 5 rounds, beside a static copy of the
# same list as the control. Measures only. Options pass through: `just bench-ui --rounds 9`.
# The web app scrolling 1,000 messages in the DOM: fps and p99 frame time.
bench-ui *ARGS: setup-browser release
    CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}" BANTER_BIN="{{target}}/release/banter" cargo run -q -p banter-e2e --bin bench-ui -- {{ARGS}}

# WASM size after wasm-opt, raw and gzip -9 (budget: 190 KiB gzipped).
wasm-size:
    @for f in dist/*_bg.wasm; do echo "$f: $(stat -c%s "$f") bytes raw, $(gzip -9c "$f" | wc -c) bytes gzip"; done
