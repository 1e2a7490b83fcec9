#!/usr/bin/env bash
# Install (first time only), then start the dashboard with the demo preset in its form:
# open the printed URL and press "Start the demo run" (synthetic shapes, no download).
# Port: UNLEARNSCOPE_PORT (default 8000). Without a browser: .venv/bin/unlearnscope run --preset demo
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PORT="${UNLEARNSCOPE_PORT:-8000}"
URL="http://127.0.0.1:${PORT}/"
echo "UnlearnScope dashboard: ${URL}  (press \"Start the demo run\"; Ctrl-C stops the server)"
opener=""
if [ "$(uname)" = Darwin ]; then
  opener="open"
elif [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && command -v xdg-open >/dev/null 2>&1; then
  opener="xdg-open"
fi
if [ -n "$opener" ]; then
  # Open the page once the server answers (the server itself runs in the foreground).
  (.venv/bin/python - "$URL" <<'PY' && "$opener" "$URL" >/dev/null 2>&1) &
import sys, time, urllib.request
for _ in range(120):
    try:
        urllib.request.urlopen(sys.argv[1] + "api/health", timeout=1)
        sys.exit(0)
    except OSError:
        time.sleep(0.5)
sys.exit(1)
PY
fi
exec .venv/bin/unlearnscope serve --port "$PORT" --preset demo "$@"
