#!/usr/bin/env bash
# Sets up and runs every check: formatting, clippy (-D warnings) and all tests.
# Needs only the Rust toolchain (cargo, rustfmt, clippy) and python3 for the peer kit.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
  echo "cargo is required (https://rustup.rs)" >&2
  exit 1
fi
for tool in fmt clippy; do
  if ! cargo "$tool" --version >/dev/null 2>&1; then
    echo "cargo $tool is required (rustup component add ${tool/fmt/rustfmt})" >&2
    exit 1
  fi
done

# The peer kit (../shared/peer-kit) generates acceptance input; CI has it beside the clone.
if [ -z "${VMPUSH_PEER_KIT:-}" ] && [ -d ../shared/peer-kit ]; then
  export VMPUSH_PEER_KIT="$(cd ../shared/peer-kit && pwd)"
fi

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
