#!/usr/bin/env bash
# The main job: build anneal and run it on the bundled data. Until the training command lands,
# this lists the bundled datasets and verifies every file's checksum and sample counts.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
source scripts/env.sh
cargo build --release --locked --bin anneal
"$CARGO_TARGET_DIR/release/anneal" datasets --verify "$@"
