#!/usr/bin/env bash
# Makes (once) the venv with moto's S3 server that server/tests/files_s3.rs starts, and prints
# the path of its `moto_server`. The venv lives in $MOTO_VENV (default ~/.cache/banter-moto-venv).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${MOTO_VENV:-$HOME/.cache/banter-moto-venv}"
if [[ ! -x "$venv/bin/moto_server" ]]; then
    if ! python3 -m venv "$venv" >&2; then
        echo "moto-venv.sh: 'python3 -m venv' failed; install the venv module (e.g. apt-get install python3-venv)" >&2
        exit 2
    fi
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt" >&2
fi
echo "$venv/bin/moto_server"
