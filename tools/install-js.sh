#!/usr/bin/env bash
# The app runtimes (onnxruntime-node, onnxruntime-web, LiteRT.js) and playwright-core, for a source checkout: the
# bridge and the lock that ship inside the package (edgeseq/runtimes/js) are copied into js/ (ignored by git) and
# `npm ci` runs there, as `edgeseq setup js --dir js` does where edgeseq is installed. Needs Node 20+ and npm
# (Debian: apt-get install nodejs npm). ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's postinstall would
# fetch from a host outside the npm registry; its CPU binaries are in the package already.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$root/js"
cp "$root/edgeseq/runtimes/js/edgeseq-runner.mjs" "$root/edgeseq/runtimes/js/package.json" \
   "$root/edgeseq/runtimes/js/package-lock.json" "$root/js/"
cd "$root/js"
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --ignore-scripts
