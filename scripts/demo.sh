#!/usr/bin/env bash
# Install (first time only), then run the built-in demo: synthetic shapes, no download.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/unlearnscope run --preset demo "$@"
