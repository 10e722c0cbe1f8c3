#!/usr/bin/env bash
# Builds a Python flow into one WebAssembly component:
#
#   guest-sdk-py/build.sh APP_DIR OUT.wasm [MODULE]
#
# APP_DIR holds the flow's module (MODULE.py, default app.py, ending with
# `export_flow(YourFlow)`) and any modules of its own it imports. The
# component targets the `flow` world of wit/v0.2.0 (the API version this SDK
# speaks). componentize-py generates the WIT bindings (`wit_world`) while it
# builds, so none are kept in the repository; the flow imports only
# `guest_sdk`. Needs componentize-py 0.25.1 (scripts/setup.sh installs it).
set -euo pipefail

usage() { echo "usage: $0 APP_DIR OUT.wasm [MODULE]" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || usage

sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wit="$sdk/../wit/v0.2.0"
app_dir="$(cd "$1" && pwd)"
out="$2"
module="${3:-app}"

if ! [[ "$module" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
  echo "error: '$module' is not a Python module name" >&2; exit 2
fi
if [ ! -f "$app_dir/$module.py" ]; then
  echo "error: $app_dir/$module.py not found (the flow's module; pass its name as the third argument)" >&2; exit 1
fi
if [ ! -f "$wit/flow.wit" ]; then
  echo "error: the WIT contract is not at $wit (guest-sdk-py must stay beside wit/ in the checkout)" >&2; exit 1
fi
if ! command -v componentize-py >/dev/null; then
  echo "error: componentize-py not found; install it with: pip install componentize-py==0.25.1 (scripts/setup.sh does)" >&2; exit 1
fi

# Everything is staged in a scratch directory: componentize-py bundles what
# it finds on its Python path (and writes bytecode caches there), so only the
# flow's and the SDK's .py files go in (no tests, caches or built .wasm), and
# the source tree stays as it was.
stage="$(mktemp -d)"
tmp_out=""
trap 'rm -rf "$stage"; [ -z "$tmp_out" ] || rm -f "$tmp_out"' EXIT
copy_py() { # SRC DEST
  (cd "$1" && find . \( -name __pycache__ -o -name tests -o -name 'test_*.py' -o -name '.?*' \) -prune \
    -o -name '*.py' -print) | while IFS= read -r f; do
    mkdir -p "$2/$(dirname "$f")" && cp "$1/$f" "$2/$f"
  done
}
mkdir -p "$stage/entry" "$stage/app" "$stage/sdk/guest_sdk"
copy_py "$app_dir" "$stage/app"
copy_py "$sdk/guest_sdk" "$stage/sdk/guest_sdk"
# The component's entry module: the author's module (which registers its
# flow with export_flow), then the SDK's export of the world's functions.
cat >"$stage/entry/guest_sdk_entry.py" <<EOF
import $module  # noqa: F401  (registers the flow: export_flow)
from guest_sdk._export import WitWorld  # noqa: F401
EOF

mkdir -p "$(dirname "$out")"
# componentize-py writes the component whole at the end; build beside the
# target and rename, so a host watching OUT (--watch) never reads half a file.
tmp_out="$(dirname "$out")/.$(basename "$out").$$.building"
# The Python path is the entry, the app and the SDK (no virtualenv's
# site-packages is added); componentize-py bundles what the flow imports.
VIRTUAL_ENV= PIPENV_ACTIVE= componentize-py -d "$wit" -w flow componentize \
  -p "$stage/entry" -p "$stage/app" -p "$stage/sdk" \
  guest_sdk_entry -o "$tmp_out"
mv -f "$tmp_out" "$out"
echo "built $out ($(du -h "$out" | cut -f1))"
