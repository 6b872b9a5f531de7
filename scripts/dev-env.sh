#!/usr/bin/env bash
# Creates (or refreshes) the repository's one development environment in .venv.
# Re-runs pip only when requirements/dev.txt or a package's pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
stamp=.venv/.learnproof-stamp
want=$(cat requirements/dev.txt packages/*/pyproject.toml services/*/pyproject.toml bench/pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/python ]; then
  exit 0
fi
echo "dev-env: installing Python dependencies into .venv" >&2
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/pip install -q --disable-pip-version-check -r requirements/dev.txt
.venv/bin/pip install -q --disable-pip-version-check --no-deps \
  -e packages/events -e services/lrs -e services/analytics -e services/identity-sync -e bench
echo "$want" > "$stamp"
