#!/usr/bin/env bash
# The whole test suite: every crate's unit and integration tests and the end-to-end tests of
# the binary, in the single release profile (see scripts/env.sh for the shared target dir).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
source scripts/env.sh
# The PostgreSQL tests start their own server; here its absence is a failure, not a skip.
export ANNEAL_REQUIRE_POSTGRES=1
# The soak test first (three sweeps on one study under random SIGKILLs, ~10 s; ignored by a
# plain `cargo test`), then every test.
if [ $# -eq 0 ]; then
    cargo test --release --locked --workspace --test cli -- --ignored soak
fi
cargo test --release --locked --workspace --no-fail-fast "$@"
