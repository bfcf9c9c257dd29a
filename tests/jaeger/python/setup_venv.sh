#!/usr/bin/env bash
# Usage: bash setup_venv.sh <venv-dir>
#
# Creates (or reuses) a Python venv at <venv-dir> with the packages pinned in
# requirements.txt (next to this script) for service.py. Idempotent: when the
# venv's stamp file holds the current requirements' hash and its python runs,
# nothing is installed. Concurrent callers on the same venv are serialized
# with flock (when available). Progress goes to stderr; the only stdout line
# (hence the last line) is the venv's python path.
#
# Interpreter: $PYTHON if set, else python3.11, else python3 (needs >= 3.10,
# the OpenTelemetry SDK's minimum).
set -euo pipefail

if [[ $# -ne 1 || -z "$1" ]]; then
  echo "usage: bash $0 <venv-dir>" >&2
  exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
req="$here/requirements.txt"
mkdir -p "$(dirname "$1")"
venv="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
vpy="$venv/bin/python"
stamp="$venv/.maximus-requirements.sha256"

if command -v flock >/dev/null 2>&1; then
  exec 9>"$venv.lock"
  flock 9
fi

want="$(sha256sum "$req" | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && "$vpy" -c 'pass' >/dev/null 2>&1; then
  echo "setup_venv: $venv is up to date" >&2
  echo "$vpy"
  exit 0
fi

if [[ -n "${PYTHON:-}" ]]; then
  base="$PYTHON"
elif command -v python3.11 >/dev/null 2>&1 && python3.11 -c 'pass' >/dev/null 2>&1; then
  base=python3.11
else
  base=python3
fi
if ! command -v "$base" >/dev/null 2>&1; then
  echo "setup_venv: no $base on the PATH" >&2
  exit 1
fi
if ! "$base" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  echo "setup_venv: $base is older than Python 3.10" >&2
  exit 1
fi

rm -f "$stamp"
if ! "$vpy" -c 'pass' >/dev/null 2>&1; then
  echo "setup_venv: creating $venv with $("$base" --version 2>&1)" >&2
  "$base" -m venv --clear "$venv" >&2 || {
    echo "setup_venv: '$base -m venv' failed (on Debian: apt-get install python3-venv)" >&2
    exit 1
  }
fi

echo "setup_venv: installing $req" >&2
"$vpy" -m pip install --disable-pip-version-check --no-input -q -r "$req" >&2
"$vpy" -c 'import opentelemetry.sdk.trace, opentelemetry.exporter.otlp.proto.http.trace_exporter' >&2
echo "$want" >"$stamp"
echo "$vpy"
