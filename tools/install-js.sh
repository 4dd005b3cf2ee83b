#!/usr/bin/env bash
# The app runtimes (onnxruntime-node, onnxruntime-web, LiteRT.js) and playwright-core, from the committed
# js/package-lock.json, into js/node_modules. Needs Node 20+ and npm (Debian: apt-get install nodejs npm).
# ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's postinstall would fetch from a host outside the npm
# registry; its CPU binaries are in the package already.
set -euo pipefail
cd "$(dirname "$0")/../js"
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --ignore-scripts
