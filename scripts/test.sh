#!/usr/bin/env bash
# Runs every check and test: formatting, lints, Rust tests, docs, and the end-to-end
# suite through boto3 and the aws CLI against a spawned server.
# Installs its Python dependencies into ./.venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "disk"
# A clean build and test run needs about 3 GB (2.6 GB of target, the venv); this says
# early whether it is there.
df -h . | tail -n 1

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

step "fuzz targets compile"
# Each fuzz crate is a workspace of its own with an untracked lock file: it starts from
# the workspace's, so only the fuzzing crates are resolved anew, and all share one target
# directory. (Running them needs nightly and cargo-fuzz; see docs/ARCHITECTURE.md.)
for manifest in crates/*/fuzz/Cargo.toml services/*/fuzz/Cargo.toml; do
  cp Cargo.lock "$(dirname "$manifest")/Cargo.lock"
  CARGO_TARGET_DIR=target/fuzz-check cargo check --quiet --manifest-path "$manifest"
done

step "python test environment"
if [ ! -x .venv/bin/pytest ] || ! .venv/bin/python -c 'import boto3, awscli, pytest, cbor2, cryptography, pyotp, cfnlint' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -r tests/e2e/requirements.txt
fi

step "end-to-end tests (boto3, aws CLI)"
cargo build --locked --bin mamori
.venv/bin/python -m pytest tests/e2e -q -p no:cacheprovider "$@"
