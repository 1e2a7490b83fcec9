#!/usr/bin/env bash
# Install everything the tests need (venv, packages, system Chromium, Node.js and a pinned
# eslint), then lint (Python and the page's JavaScript), type-check and test. Nothing is skipped for a
# missing tool: what cannot be installed stops the script.
set -euo pipefail
cd "$(dirname "$0")/.."
ESLINT_VERSION=9.39.5 # supports Debian bookworm's Node.js 18
GLOBALS_VERSION=16.5.0
bash scripts/setup.sh --test
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { $SUDO apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the browser tests" >&2
  apt_install chromium fonts-dejavu-core
fi
if ! command -v node >/dev/null; then
  echo "installing Debian's nodejs for the JavaScript unit tests and lint" >&2
  apt_install nodejs
fi
if ! command -v npm >/dev/null; then
  echo "installing Debian's npm to fetch eslint" >&2
  apt_install npm
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  # tests/pg_server.py starts a throwaway server from it (loopback, own data folder)
  echo "installing Debian's postgresql for the PostgreSQL storage and live-server tests" >&2
  apt_install postgresql
fi
command -v node >/dev/null || { echo "Node.js is required (apt-get install nodejs)" >&2; exit 1; }
# eslint in an ignored folder: pinned versions, no lock file in the repository.
eslint=.tools/eslint/node_modules/.bin/eslint
stamp=.tools/eslint/.installed-$ESLINT_VERSION-$GLOBALS_VERSION
if [ ! -f "$stamp" ]; then
  rm -rf .tools/eslint
  npm install --prefix .tools/eslint --no-save --no-package-lock --no-audit --no-fund -q \
    "eslint@$ESLINT_VERSION" "globals@$GLOBALS_VERSION" >/dev/null
  touch "$stamp"
fi
.venv/bin/ruff check backend tests
.venv/bin/mypy # [tool.mypy] in pyproject.toml: strict on the whole package
.venv/bin/mypy --explicit-package-bases tests # a plain (non-strict) pass over the tests
"$eslint" frontend/js tests/js # rules: eslint.config.mjs
# CI=true: the JavaScript unit tests fail, never skip, without Node.js.
CI=${CI:-true} .venv/bin/python -m pytest "$@"
