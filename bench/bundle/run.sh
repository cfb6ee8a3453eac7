#!/usr/bin/env bash
# Browser bundle benchmark: builds the release bundle (split into the main part and one chunk per
# page), makes its brotli/gzip copies at the best quality, and measures in Debian's Chromium what a
# first visit (sign-in page, then the dashboard) and each other page fetch on the wire, next to the
# whole bundle in one piece (uncompressed, gzip -9, brotli) from the same build. The goal is at
# most 400 KB on the wire for a first visit. A release wasm build takes several minutes. Leaves
# the release bundle in target/site (the test command rebuilds it).
#
#   bench/bundle/run.sh
#   bench/bundle/run.sh --smoke   (the test command: measures the bundle and server it has just
#                                  built, `cargo leptos build --split` and scripts/precompress,
#                                  without building anything; the figures only show that it runs)
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ "${1:-}" == "--smoke" ]]; then
  source scripts/env.sh
  if ! compgen -G "target/site/pkg/*.wasm" >/dev/null || [[ ! -x target/debug/switchboard ]]; then
    echo "[bench] FAIL: no bundle in target/site/pkg or no target/debug/switchboard; run cargo leptos build --split first" >&2
    exit 1
  fi
  echo "[bench] smoke run on the debug bundle in target/site"
else
  scripts/setup --test
  source scripts/env.sh
  echo "[bench] building the release bundle and the server"
  cargo leptos build --release --split --frontend-only
  cargo build -q -p server --bin switchboard
  BROTLI_QUALITY=11 scripts/precompress
fi
cd end2end
npx playwright test --config bench.config.ts
