#!/usr/bin/env bash
# Installs what Lockmaster needs on Debian 12 and prepares .venv; safe to run again.
# Usage: scripts/prereqs.sh [requirements file]   (default requirements.txt)
set -euo pipefail
cd "$(dirname "$0")/.."

requirements="${1:-requirements.txt}"
packages=(docker.io docker-registry redis-server git busybox-static ca-certificates)
if [ "$requirements" = requirements-dev.txt ]; then
  # What only the test suite needs: PostgreSQL (the suite runs on it as well as on SQLite),
  # debootstrap (Debian bases: Lockmaster's own image, the gates' ordinary image), docker-compose
  # (validation), skopeo (promotion checks), chromium (the web UI, driven by Playwright), npm
  # (axe-core, the accessibility checker the browser tests inject into every page; only when no
  # npm is on PATH, since a nodejs from elsewhere ships its own and conflicts with Debian's),
  # prometheus (promtool and the alert rules' end-to-end test; its service is never started),
  # haproxy (two web processes behind one realm in the availability test), openssl and
  # openssh-client (the secrets gate's corpus of real keys).
  packages+=(postgresql debootstrap docker-compose skopeo chromium prometheus haproxy openssl
             openssh-client)
  command -v npm >/dev/null || packages+=(npm)
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Lockmaster needs these Debian packages. Run as root, then run this again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "[lockmaster] installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "[lockmaster] creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.installed-$(cat "$requirements" requirements.txt pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "[lockmaster] installing Python packages from $requirements"
  .venv/bin/pip install -q --disable-pip-version-check -r "$requirements"
  # compat mode puts the checkout itself on sys.path, so new packages need no reinstall.
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -e . \
    --config-settings editable_mode=compat
  rm -f .venv/.installed-*
  touch "$stamp"
fi

if [ "$requirements" = requirements-dev.txt ] && \
    [ ! -f tests/browser/node_modules/axe-core/axe.min.js ]; then
  echo "[lockmaster] installing axe-core for the browser tests"
  npm ci --prefix tests/browser --no-audit --no-fund --silent
fi
