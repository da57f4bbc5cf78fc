#!/usr/bin/env bash
# setup.sh -- the browser tests' fixture: chromium present (installed by scripts/deps when root), playwright-core from npm ci in the build directory.
# Usage: setup.sh NPM_DIR (where package.json and package-lock.json are copied and installed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
npm_dir=${1:?usage: setup.sh NPM_DIR}

if [ ! -x /usr/bin/chromium ] || ! command -v npm >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup.sh: chromium or npm missing: installing them with scripts/deps" >&2
    "$root/scripts/deps"
  else
    echo "setup.sh: the browser tests need /usr/bin/chromium and npm (Debian packages chromium," \
      "nodejs, npm): run scripts/deps as root, or sudo apt-get install chromium nodejs npm" >&2
    exit 1
  fi
fi
mkdir -p "$npm_dir"
if ! cmp -s "$here/package-lock.json" "$npm_dir/package-lock.json" ||
  [ ! -d "$npm_dir/node_modules/playwright-core" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$npm_dir/"
  (cd "$npm_dir" && npm ci --ignore-scripts --no-audit --no-fund) ||
    { echo "setup.sh: npm ci of tests/browser/package-lock.json failed (is the npm registry reachable?)" >&2; exit 1; }
fi
echo "setup.sh: chromium $(/usr/bin/chromium --version 2>/dev/null || echo '?'), playwright-core in $npm_dir"
