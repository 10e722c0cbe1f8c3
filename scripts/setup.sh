#!/usr/bin/env bash
# Installs what building and testing need, idempotently: the wasm target,
# Debian packages (etcd-server for the offline test image, tmux for the
# real-terminal test, chromium for opening `host report`'s page),
# componentize-py for the Python flows, Chaos Toolkit's libraries for the
# journal tests, and the locally built etcd and network-fault images. Safe
# to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi

need=()
[ -x /usr/bin/etcd ] || need+=(etcd-server)
command -v tmux >/dev/null || need+=(tmux)
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || need+=(docker-compose)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# Chromium only opens `host report`'s page in tests/report.rs, which skips
# without it: a failed install warns and goes on.
if ! command -v chromium >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium; } \
    || echo "warning: chromium could not be installed; tests/report.rs skips its browser check" >&2
fi
# componentize-py builds the Python flows (guest-sdk-py/build.sh), pinned.
if ! componentize-py --version 2>/dev/null | grep -qx "componentize-py 0.25.1"; then
  python3 -m pip install -q componentize-py==0.25.1 || python3 -m pip install -q --user componentize-py==0.25.1
fi
# Chaos Toolkit's own code reads `host report --format chaostoolkit`'s
# journals in tests/journal.rs and tests/report.rs (chaoslib validates the
# experiment, chaostoolkit-reporting renders the report), pinned.
CTK="chaostoolkit-lib==1.44.0 chaostoolkit-reporting==0.18.0"
if ! python3 -c 'import sys, chaoslib, chaosreport; sys.exit((chaoslib.__version__, chaosreport.__version__) != ("1.44.0", "0.18.0"))' 2>/dev/null; then
  python3 -m pip install -q $CTK || python3 -m pip install -q --user $CTK
fi

scripts/build-etcd-image.sh
scripts/build-netfault-image.sh
