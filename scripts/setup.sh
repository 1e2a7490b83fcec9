#!/usr/bin/env bash
# Install UnlearnScope into ./.venv (idempotent): the pinned torch + torchvision pair
# (pyproject.toml), the package itself (editable) and, with --test, the test tools (with
# the `ray` and `postgres` extras: their tests run in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extra=""
[ "${1:-}" = "--test" ] && extra="[test]"
stamp=".venv/.installed$extra"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".$extra"
  touch "$stamp"
fi
