#!/usr/bin/env bash
# Banter black-box conformance suite.
# Usage: BANTER_BIN=/path/to/banter ./conformance/run.sh [extra pytest args]
# The venv lives in $CONFORMANCE_VENV (default $HOME/.cache/banter-conformance-venv).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${CONFORMANCE_VENV:-$HOME/.cache/banter-conformance-venv}"

if [[ -z "${BANTER_BIN:-}" ]]; then
    echo "run.sh: set BANTER_BIN to the banter server binary (e.g. target/release/banter)" >&2
    exit 2
fi
if [[ ! -x "$BANTER_BIN" ]]; then
    echo "run.sh: BANTER_BIN=$BANTER_BIN is not an executable file" >&2
    exit 2
fi
BANTER_BIN="$(cd "$(dirname "$BANTER_BIN")" && pwd)/$(basename "$BANTER_BIN")"
export BANTER_BIN

if [[ ! -x "$venv/bin/python" ]]; then
    if ! python3 -m venv "$venv"; then
        echo "run.sh: 'python3 -m venv' failed; install the venv module (e.g. apt-get install python3-venv)" >&2
        exit 2
    fi
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt"

export PYTHONDONTWRITEBYTECODE=1
cd "$here"
exec "$venv/bin/python" -m pytest -p no:cacheprovider -v "$here" "$@"
