#!/usr/bin/env bash
# Idempotent: the Docker daemon the docker runtime and its tests drive for real (Debian's
# docker.io), and Debian's docker-registry for the private-pull tests. Installs what is missing
# (as root), starts dockerd when it is not answering, and waits for its socket. Run by
# `make setup-dev`; safe to run again. Without root it only says what is missing.
set -euo pipefail

socket="${DOCKER_SOCKET:-/var/run/docker.sock}"

missing=()
for pkg in docker.io docker-registry; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "warning: missing Debian packages (${missing[*]}); install them as root" >&2
    exit 0
  fi
  echo "==> apt-get install ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

daemon_up() { docker -H "unix://$socket" info >/dev/null 2>&1; }
daemon_up && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "warning: dockerd is not answering on $socket; start it as root" >&2
  exit 0
fi
# No init system on CI machines and containers: start it by hand, in its own session.
if ! pgrep -x dockerd >/dev/null; then
  echo "==> starting dockerd (log: /var/log/dockerd.log)"
  setsid dockerd >>/var/log/dockerd.log 2>&1 < /dev/null &
fi
for _ in $(seq 1 60); do
  daemon_up && exit 0
  sleep 0.5
done
echo "error: dockerd did not answer on $socket within 30 s; see /var/log/dockerd.log" >&2
exit 1
