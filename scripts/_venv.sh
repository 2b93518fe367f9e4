# Sourced by the other scripts: make .venv with calcard and its test tools installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.calcard-installed"
if [[ ! -f "$STAMP" || "$ROOT/pyproject.toml" -nt "$STAMP" ]]; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT[test]"
  touch "$STAMP"
fi
# The web calendar's npm packages (FullCalendar), served from node_modules.
if [[ ! -d "$ROOT/node_modules" || "$ROOT/package-lock.json" -nt "$ROOT/node_modules" ]]; then
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$ROOT/node_modules"
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
