#!/usr/bin/env bash
# Takes the README's screenshots of the current window (light, dark, and the
# provider·model picker) under Xvfb, into docs/screenshots/. Needs what the
# test command sets up (run ./scripts/test.sh once first).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
ensure_tauri_driver
out=${1:-docs/screenshots}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/data" "$tmp/config" "$tmp/cache"
export XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache"
export RUNNEL_SCREENSHOT_DIR
RUNNEL_SCREENSHOT_DIR=$(cd "$out" && pwd)
dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  echo -n runnel-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || true
  cargo build --workspace --locked --quiet
  cargo test -p runnel --locked --test ui_design -- --ignored --exact readme_screenshots
'
echo "screenshots in $out"
