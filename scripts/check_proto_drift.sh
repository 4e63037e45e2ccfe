#!/usr/bin/env bash
# Fails when the committed atoll/v1 generated code differs from what proto/ generates.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
scripts/gen_proto.sh "$tmp" >/dev/null 2>&1
cp atoll/v1/__init__.py "$tmp/atoll/v1/__init__.py"
if ! diff -r -q -x __pycache__ atoll/v1 "$tmp/atoll/v1"; then
  echo "atoll/v1 is out of date with proto/: run scripts/gen_proto.sh and commit the result" >&2
  exit 1
fi
echo "generated code is up to date"
