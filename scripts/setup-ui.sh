#!/usr/bin/env bash
# Idempotent: what the dashboard's browser tests (tests/ui/) drive: Debian's `chromium` and the
# `playwright` Python package (its bundled driver only; the browser is Debian's, launched by
# its executable path, so `playwright install` is never run and nothing is downloaded from a
# browser CDN). Run by `make setup-dev`; safe to run again. Without root it only says what is
# missing.
set -euo pipefail

venv="${VENV:-.venv}"

if ! "$venv/bin/python" -c "import playwright" >/dev/null 2>&1; then
  echo "==> pip install playwright"
  "$venv/bin/python" -m pip install -q "playwright>=1.45"
fi

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "warning: Debian's chromium is missing (the UI tests skip); install it as root" >&2
    exit 0
  fi
  echo "==> apt-get install chromium"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core >/dev/null
fi
