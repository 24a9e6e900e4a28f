#!/usr/bin/env bash
# Installs everything assay needs on a Debian machine, then the Python environment (.venv).
# Safe to run again: it installs only what is missing. Needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")"

# Usage: ./setup.sh [--all-runtimes]
# Debian's packages, checked with dpkg (not with `command -v`: a toolchain elsewhere on PATH, such
# as rustup's in root's home, is invisible inside the sandbox, which sees only the system's /usr).
# The runtimes' packages come from their definition files (assay/runtimes/defs/*.yaml, key
# `debian:`): the core ones by default, every one with --all-runtimes.
all_runtimes=0
for arg in "$@"; do
  case "$arg" in
    --all-runtimes) all_runtimes=1 ;;
    -h|--help) sed -n '2,3p;9,13p' "$0"; exit 0 ;;
    *) echo "setup: unknown option $arg (use --all-runtimes or nothing)" >&2; exit 2 ;;
  esac
done

packages=(
  bubblewrap   # the sandbox for non-root testers
  gcc libseccomp-dev  # the root testers' sandbox launcher (assay/sandbox/launcher.c)
  mmdebstrap   # builds course images (assay image build)
  zip          # result and bundle archives in tests
  openssh-client openssh-server  # the SSH transport (ssh-keygen; the tests start their own sshd)
  chromium     # the browser tests drive Debian's chromium (Playwright, no download)
  libldap2-dev libsasl2-dev  # python-ldap (django-auth-ldap: LDAP logins) compiles against them
  slapd ldap-utils  # the LDAP login tests start their own slapd (tests/storer/slapd.py)
)
runtime_packages=()
for def in assay/runtimes/defs/*.yaml; do
  if ((all_runtimes)) || grep -q '^core: *true' "$def"; then
    # `debian: [a, b]` on one line
    read -ra pkgs <<<"$(sed -n 's/^debian: *\[\(.*\)\]/\1/p' "$def" | tr ',' ' ')"
    runtime_packages+=("${pkgs[@]}")
  fi
done
# install what dpkg does not list as installed; toolchains without their recommendations (R's and
# GHC's are hundreds of MB the sandbox never uses)
install_missing() {  # install_missing [apt options] -- packages...
  local opts=() missing=()
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done; shift
  for pkg in "$@"; do
    [ "$(dpkg-query -W -f '${db:Status-Abbrev}' "$pkg" 2>/dev/null)" = "ii " ] || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  echo "setup: installing ${missing[*]}" >&2
  local SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  [ -n "${apt_updated:-}" ] || { $SUDO apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${opts[@]}" "${missing[@]}" >/dev/null
}
install_missing -- "${packages[@]}"
install_missing --no-install-recommends -- "${runtime_packages[@]}"
# axe-core for the browser tests' accessibility checks, from the npm registry into .cache/axe/
# (ignored by git); the tests inject it from disk and never load anything from the internet
if [ ! -f .cache/axe/node_modules/axe-core/axe.min.js ]; then
  command -v npm >/dev/null 2>&1 || install_missing --no-install-recommends -- npm
  echo "setup: installing axe-core (npm) into .cache/axe" >&2
  mkdir -p .cache/axe
  npm install --prefix .cache/axe --no-audit --no-fund --silent axe-core@4 >/dev/null
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
# a root tester runs boxes with the C launcher: build it now (with the system's gcc and
# libseccomp), switch the cgroups to favordynmods and run the sandbox's self-test
if [ "$(id -u)" -eq 0 ]; then
  uv run assay sandbox >/dev/null || echo "setup: warning: 'assay sandbox' failed (see its output)" >&2
fi
echo "setup: ready ($(uv run python --version), $(bwrap --version))" >&2
