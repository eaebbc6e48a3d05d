#!/usr/bin/env bash
# Build the sdist and the wheel (from the sdist), install the wheel into a fresh virtual
# environment outside the repository, and use it there as a user would (scripts/package_smoke.py).
# A missing template, py.typed or package file fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
uv="$repo/.tools/bin/uv"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$uv" build --quiet --out-dir "$work/dist"
wheel=$(ls "$work"/dist/*.whl)
sdist=$(ls "$work"/dist/*.tar.gz)
echo "built $(basename "$sdist") and $(basename "$wheel")"

"$uv" venv --quiet --python "${PYTHON:-python3}" "$work/venv"
"$uv" pip install --quiet --python "$work/venv/bin/python" "${wheel}[codegen,emulator]"
cp "$repo/schemas/fal-ai/fast-sdxl.json" "$work/fast-sdxl.json"
cd "$work"
PATH="$work/venv/bin:$PATH" "$work/venv/bin/python" "$repo/scripts/package_smoke.py" "$work"
