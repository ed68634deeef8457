#!/usr/bin/env bash
# Builds Runnel's Linux packages, a release .deb and .rpm, with Tauri's own
# bundler (tauri-cli, pinned below; installed with `cargo install` when
# missing), into target/release/bundle/{deb,rpm}/, and prints their paths on
# its last lines. Installs what a fresh Debian/Ubuntu machine lacks.
#
#   ./scripts/package.sh              # release .deb and .rpm
#   sudo apt install ./target/release/bundle/deb/Runnel_*_amd64.deb
#
# The packages hold the app (/usr/bin/runnel-window), the `runnel` command
# (/usr/bin/runnel, the bundler's `files` mapping in tauri.conf.json), the
# desktop entry (packaging/runnel.desktop) and the icons at every size.
# AppImage, .dmg and the Windows installers are built by
# .github/workflows/release.yml (README: "Platforms").
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
# rpm: the bundler writes the .rpm itself, but `rpm` checks it.
ensure_packages "${BUILD_PACKAGES[@]}" rpm desktop-file-utils
ensure_rust
if [ "$(cargo tauri --version 2>/dev/null)" != "tauri-cli $TAURI_CLI_VERSION" ]; then
  step "installing tauri-cli $TAURI_CLI_VERSION (once; compiling it takes about 15 minutes on 2 cores)"
  cargo install tauri-cli --version "$TAURI_CLI_VERSION" --locked --quiet
fi
step "building the runnel command (release)"
cargo build --release --locked -p runnel-cli --bin runnel
step "building the app and its packages (release)"
cargo tauri build --bundles deb,rpm
deb=$(ls target/release/bundle/deb/*.deb)
rpm=$(ls target/release/bundle/rpm/*.rpm)
# xz instead of the bundler's gzip: about half the size.
step "recompressing the .deb's data with xz"
repack_deb_xz "$deb" 9
step "packages"
printf '%s\n%s\n' "$deb" "$rpm"
