#!/usr/bin/env bash
# Installs everything assay needs on a Debian machine, then the Python environment (.venv).
# Safe to run again: it installs only what is missing. Needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")"

# command -> Debian package providing it
declare -A PACKAGES=(
  [bwrap]=bubblewrap        # the sandbox
  [gcc]=gcc [g++]=g++       # C and C++ runtimes
  [javac]=default-jdk-headless
  [node]=nodejs
  [rustc]=rustc
  [python3]=python3
  [bash]=bash
  [zip]=zip
  [chromium]=chromium       # the browser tests drive Debian's chromium (Playwright, no download)
)
missing=()
for cmd in "${!PACKAGES[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${PACKAGES[$cmd]}")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv (from PyPI)" >&2
  if ! python3 -m pip --version >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-pip >/dev/null
  fi
  # Debian marks its Python as externally managed (PEP 668); uv is a standalone tool
  python3 -m pip install --quiet uv 2>/dev/null || python3 -m pip install --quiet --break-system-packages uv
  export PATH="$HOME/.local/bin:/usr/local/bin:$PATH"
fi
uv sync --frozen --quiet
echo "setup: ready ($(uv run python --version), $(bwrap --version))" >&2
