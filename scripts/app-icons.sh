#!/usr/bin/env bash
# Regenerates the app's icons from one source image, icons/source.png
# (square, 512 px or larger), with the Tauri CLI's `icon` command (npm's
# @tauri-apps/cli, the version pinned in scripts/setup.sh): the PNGs the Linux packages put in
# the hicolor theme (32, 64, 128, 256, 512 px), icon.icns (macOS) and icon.ico
# (Windows). The results are committed; run this after changing the source.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
tauri=$(ensure_npm_tauri_cli)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$tauri" icon icons/source.png -o "$tmp/all" >/dev/null 2>&1
"$tauri" icon icons/source.png -o "$tmp/png" -p 256 >/dev/null 2>&1
cp "$tmp/all/32x32.png" "$tmp/all/64x64.png" "$tmp/all/128x128.png" "$tmp/all/icon.png" \
  "$tmp/all/icon.icns" "$tmp/all/icon.ico" "$tmp/png/256x256.png" icons/
echo "icons/: 32, 64, 128, 256 and 512 px PNGs, icon.icns and icon.ico from icons/source.png"
