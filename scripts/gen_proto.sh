#!/usr/bin/env bash
# Regenerates atoll/v1/*_pb2.py and *_pb2.pyi from proto/atoll/v1/*.proto, and *_pb2_grpc.py(i)
# for the files that declare a service. Proto path == Python import path, so the generated
# imports need no rewriting.
# Usage: scripts/gen_proto.sh [OUT_DIR]   (default: the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
export PATH="$(dirname "$PY"):$PATH"
OUT="${1:-.}"
mkdir -p "$OUT/atoll/v1"
"$PY" -m grpc_tools.protoc -I proto --python_out="$OUT" --mypy_out="$OUT" proto/atoll/v1/*.proto
services=$(grep -l '^service ' proto/atoll/v1/*.proto)
# shellcheck disable=SC2086
"$PY" -m grpc_tools.protoc -I proto --grpc_python_out="$OUT" --mypy_grpc_out="$OUT" $services
