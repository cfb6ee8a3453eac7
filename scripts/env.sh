# Sourced by the scripts: puts the project's own tools on PATH.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$_root/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
# leptos bakes this into the server at compile time (it picks the wasm file name); cargo-leptos sets it
# when it builds. Setting it for every cargo command keeps `cargo test` from rebuilding leptos (and the
# server binary) differently from `cargo leptos build`.
export LEPTOS_OUTPUT_NAME=switchboard
