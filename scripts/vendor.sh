#!/usr/bin/env bash
# Re-vendor the front-end assets from the npm registry (no CDN at run time).
# Versions are recorded in docs/architecture.md; bump them here and there together.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent htmx.org@2.0.11 @digdir/designsystemet-css@1.22.0 axe-core@4.14.1 >/dev/null)
for f in "$tmp"/*.tgz; do mkdir -p "${f%.tgz}"; tar xzf "$f" -C "${f%.tgz}"; done
static=src/korona/web/static/vendor
cp "$tmp"/htmx.org-2.0.11/package/dist/htmx.min.js "$static/htmx-2.0.11.min.js"
cp "$tmp"/digdir-designsystemet-css-1.22.0/package/dist/src/index.css "$static/designsystemet-css-1.22.0.css"
cp "$tmp"/digdir-designsystemet-css-1.22.0/package/dist/theme/designsystemet.css "$static/designsystemet-theme-1.22.0.css"
cp "$tmp"/axe-core-4.14.1/package/axe.min.js tests/e2e/vendor/axe-core-4.14.1.min.js
echo "vendored htmx 2.0.11, designsystemet-css 1.22.0, axe-core 4.14.1"
