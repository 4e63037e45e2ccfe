#!/usr/bin/env bash
# Regenerates atoll/v1/*_pb2.py, *_pb2.pyi and *_pb2_grpc.py from proto/atoll/v1/*.proto.
# Proto path == Python import path, so the generated imports need no rewriting.
# Usage: scripts/gen_proto.sh [OUT_DIR]   (default: the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
export PATH="$(dirname "$PY"):$PATH"
OUT="${1:-.}"
mkdir -p "$OUT/atoll/v1"
"$PY" -m grpc_tools.protoc -I proto \
  --python_out="$OUT" --mypy_out="$OUT" --grpc_python_out="$OUT" --mypy_grpc_out="$OUT" \
  proto/atoll/v1/*.proto
