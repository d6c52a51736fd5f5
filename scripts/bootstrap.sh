#!/usr/bin/env bash
# Set up everything Paperwire needs on a fresh Debian machine; safe to run again (fast when done).
#   scripts/bootstrap.sh          Python environment (.venv) with Paperwire and its dependencies
#   scripts/bootstrap.sh --test   ... plus the test tools and Debian's Chromium for browser tests
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "Paperwire needs Python 3.11 or newer (found: $("$PY" --version 2>&1)). Install it, or set PYTHON=/path/to/python3.11." >&2
  exit 1
fi

apt_install() {  # Debian packages, installed only when missing
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "Install these Debian packages as root, then run again: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "Installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv"
  "$PY" -m venv .venv
fi

extras="" stamp=".venv/.paperwire-installed"
if [ $want_test = 1 ]; then extras="[test]" stamp=".venv/.paperwire-installed-test"; fi
digest=$(sha1sum < pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  echo "Installing Python packages into .venv (first time: a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  # torch first, pinned: the CPU build; an unpinned torch would pull a multi-GB CUDA build
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".${extras}"
  echo "$digest" > "$stamp"
fi

if [ $want_test = 1 ]; then
  # PostgreSQL: the storage tests start their own throwaway server (tests/pg_server.py) on loopback;
  # jing validates the Atom feeds against RFC 4287's RELAX NG schema (tests/atom_schema.py)
  apt_install chromium postgresql jing
fi
