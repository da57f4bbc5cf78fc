#!/usr/bin/env bash
# npm_ci.sh -- install tests/openapi's pinned node packages into DIR (a build directory) with `npm ci`.
# Usage: npm_ci.sh DIR [SRC] (SRC: the folder of package.json and its lock, default
# tests/openapi; tests/direct_js uses it too). Skipped (offline-safe) when DIR already holds an install of the same
# package-lock.json; a failed install leaves no stamp, so the next run tries again.
set -euo pipefail
src="${2:-$(cd "$(dirname "$0")" && pwd)}"
dir="${1:?usage: npm_ci.sh DIR}"
mkdir -p "$dir"
want="$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)"
if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$want" ] && [ -d "$dir/node_modules" ]; then
  echo "npm_ci.sh: $dir is up to date"
  exit 0
fi
command -v npm >/dev/null || { echo "npm_ci.sh: npm is missing (scripts/deps installs nodejs npm)" >&2; exit 1; }
rm -f "$dir/.installed"
cp "$src/package.json" "$src/package-lock.json" "$dir/"
(cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
echo "$want" > "$dir/.installed"
