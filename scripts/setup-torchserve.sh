#!/usr/bin/env bash
# Idempotent: a separate venv with TorchServe and a CPU PyTorch, for the real TorchServe test
# (tests/e2e/test_torchserve.py; `make test` runs this script, plain `make run` does not): it
# adds ~1 GB and about a minute the first time. Usage: scripts/setup-torchserve.sh [VENV_DIR]
# (default .venv-torchserve; the tests look there, or at $MODELPORT_TORCHSERVE_VENV).
# TorchServe 0.12 also needs Java 11+ (Debian: openjdk-17-jre-headless), installed here when root.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-${MODELPORT_TORCHSERVE_VENV:-.venv-torchserve}}"

# torch==2.13.0 is the CPU build this machine keeps on disk; any other torch spec makes pip fetch
# a multi-GB CUDA build. torchserve does not declare PyYAML, which its worker imports.
want="torch==2.13.0 torchserve==0.12.0 torch-model-archiver==0.12.0 PyYAML==6.0.4"

if ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "==> apt-get install openjdk-17-jre-headless (TorchServe's frontend is Java)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  else
    echo "warning: no java on PATH; TorchServe needs Java 11+ (install it as root)" >&2
  fi
fi

# Replicas may run as other uids (docs/security.md): build on the same interpreter as .venv,
# which setup.sh chose to be runnable by every user.
python="${PYTHON:-}"
if [ -z "$python" ]; then
  if [ -x .venv/bin/python ]; then
    python="$(.venv/bin/python -c 'import os, sys; print(os.path.realpath(sys.executable))')"
  else
    python=python3
  fi
fi

stamp="$venv/.modelport-installed"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  echo "==> installing $want into $venv"
  "$venv/bin/python" -m pip install -q $want
  echo "$want" > "$stamp"
fi
"$venv/bin/torchserve" --version
