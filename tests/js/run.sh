#!/usr/bin/env bash
# Browser-hasher parity tests: write vectors with the Python reference stack, then run node:test.
# Usage: tests/js/run.sh            (PYTHON, NODE and TAKEDOWN_JS_VECTORS may be overridden)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
node="${NODE:-node}"
export TAKEDOWN_JS_VECTORS="${TAKEDOWN_JS_VECTORS:-$repo/var/js-vectors}"
cd "$repo"
"$python" tests/js/make_vectors.py "$TAKEDOWN_JS_VECTORS"
"$node" --test tests/js/
