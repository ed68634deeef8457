#!/usr/bin/env bash
# Proves Runnel's reliability with figures and writes RELIABILITY.md (the only
# writer of that file): a seeded fault soak of RUNNEL_SOAK_STREAMS (1,000)
# streams through the engine and the store, RUNNEL_CRASH_SOAK (100) SIGKILLs
# of `runnel ask --save`, and the key-canary scan. Release build; installs
# what a fresh Debian/Ubuntu machine lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
ensure_packages "${BUILD_PACKAGES[@]}" python3
ensure_rust

out=target/reliability
mkdir -p "$out"
export RUNNEL_SOAK_STREAMS="${RUNNEL_SOAK_STREAMS:-1000}"
export RUNNEL_CRASH_SOAK="${RUNNEL_CRASH_SOAK:-100}"

step "fault soak: $RUNNEL_SOAK_STREAMS streams through the engine and the store"
RUNNEL_SOAK_REPORT="$PWD/$out/soak.json" \
  cargo test --release --locked -p runnel-core --test soak -- --nocapture

step "crash soak: $RUNNEL_CRASH_SOAK SIGKILLs of runnel ask --save"
RUNNEL_CRASH_REPORT="$PWD/$out/crash.json" \
  cargo test --release --locked -p runnel-cli --test crash_soak -- --nocapture

step "key canaries"
cargo test --release --locked -p runnel-cli --test canaries -- --nocapture | tee "$out/canaries.log"

step "writing RELIABILITY.md"
python3 scripts/reliability_report.py "$out" > RELIABILITY.md
cat RELIABILITY.md
