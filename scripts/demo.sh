#!/usr/bin/env bash
# The main job: build anneal and train an MLP on the bundled digits dataset (about a minute on
# 2 cores), writing runs/digits-mlp*/ with metrics.csv, summary.json, curves.svg and the
# checkpoint. Extra arguments go to `anneal train` (e.g. --set train.epochs=5, --backend wgpu).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
source scripts/env.sh
cargo build --release --locked --bin anneal
"$CARGO_TARGET_DIR/release/anneal" train --config configs/digits-mlp.toml "$@"
