#!/usr/bin/env bash
# The metadata venv: tflite-support (the TFLITE_METADATA writer and reader) in a venv of its own, from PyPI only,
# because its last release declares protobuf<4 and edgeseq's TensorFlow and onnx need protobuf>=5. `edgeseq
# export` and tools/add_standard_metadata.py find it at .venv-metadata in this checkout (or set
# EDGESEQ_METADATA_PYTHON to its bin/python) and run it as a child process, one per file.
#
#   tools/make-metadata-venv.sh [VENV_DIR]        # default: .venv-metadata beside edgeseq/
#
# tflite-support has wheels for Python <= 3.11 only: the venv is made with $EDGESEQ_METADATA_BASE_PYTHON, else the
# first of python3.11, python3.10, python3 that is 3.10 or 3.11. No system library is needed: libusb-1.0 (which
# tflite-support's native modules are linked against) comes from the libusb-package wheel.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-$root/.venv-metadata}"
fits() { "$1" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 11) else 1)' 2>/dev/null; }
base=""
for candidate in ${EDGESEQ_METADATA_BASE_PYTHON:-} python3.11 python3.10 python3; do
    if command -v "$candidate" >/dev/null && fits "$candidate"; then base="$candidate"; break; fi
done
if [ -z "$base" ]; then
    echo "Error: no Python 3.10 or 3.11 found (tflite-support 0.4.4 has no wheel for 3.12+); set EDGESEQ_METADATA_BASE_PYTHON" >&2
    exit 1
fi
"$base" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$root/edgeseq/export/metadata-requirements.txt"
"$venv/bin/python" -m pip check
# the same probe edgeseq runs: tflite-support's writer modules import (native modules, libusb)
echo '{"op": "probe"}' | "$venv/bin/python" "$root/edgeseq/export/tflite_metadata.py"
