#!/usr/bin/env bash
# Builds (release) and opens Runnel. Installs what a fresh Debian/Ubuntu machine lacks.
# The provider comes from the environment: OPENAI_BASE_URL, OPENAI_API_KEY, RUNNEL_MODEL.
# Extra arguments go to the binary (e.g. `scripts/run.sh ask "hello"`).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
ensure_packages "${BUILD_PACKAGES[@]}"
ensure_rust
step "building Runnel (release; the first build takes several minutes)"
cargo build --release --locked
exec ./target/release/runnel "$@"
