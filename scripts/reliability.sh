#!/usr/bin/env bash
# Proves Runnel's reliability with figures and writes RELIABILITY.md (the only
# writer of that file): a seeded fault soak of RUNNEL_SOAK_STREAMS (1,000)
# streams through the engine and the store, RUNNEL_CRASH_SOAK (100) SIGKILLs
# of `runnel ask --save`, the key canaries (command line and window) and the
# hostile-content check through the real window. Release build; installs
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

step "the real window: hostile content and the key canary (Xvfb, tauri-driver)"
ensure_packages "${TEST_PACKAGES[@]}"
ensure_tauri_driver
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
XDG_DATA_HOME="$tmp" dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  echo -n runnel-reliability | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || true
  CI=true cargo test --release --locked --test ui_e2e -- --nocapture \
    over_a_hundred_hostile_payloads an_echoed_key_never_reaches_the_page
' | tee "$out/window.log"

step "writing RELIABILITY.md"
python3 scripts/reliability_report.py "$out" > RELIABILITY.md
cat RELIABILITY.md
