#!/bin/sh
# Install the Keras reference oracle's npm dependencies (pinned in package-lock.json) if they are missing.
# Quiet on success; exit status 1 with a message on failure.
set -e
dir=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "tests/oracle/setup.sh: node and npm are required; install them with:" >&2
    echo "    sudo apt-get install -y nodejs npm" >&2
    exit 1
fi
if [ ! -d "$dir/node_modules/@tensorflow/tfjs" ] || [ ! -d "$dir/node_modules/h5wasm" ]; then
    log=$(mktemp)
    if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "tests/oracle/setup.sh: 'npm ci' failed in $dir" >&2
        exit 1
    fi
    rm -f "$log"
fi
