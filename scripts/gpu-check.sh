#!/usr/bin/env bash
# On a machine with a GPU and a Vulkan driver: train mnist-mlp and mnist-cnn with --backend wgpu
# and print their training samples/s and test accuracy beside the CPU (flex) figures.
# Usage: scripts/gpu-check.sh [--device N] [--set train.epochs=3 ...]   (extra args go to the wgpu runs)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
source scripts/env.sh
cargo build --release --locked --bin anneal
anneal="$CARGO_TARGET_DIR/release/anneal"
runs="$(mktemp -d)/runs"
echo "runs go to $runs"
report() {
    python3 -c 'import json,sys; s=json.load(sys.stdin); t=s["test"]
print(f"{s[\"name\"]:<22} {s[\"backend\"]:<6} epochs {s[\"epochs_run\"]:>3}  {s[\"train_samples_per_sec\"]:>9.0f} samples/s  test accuracy {100*t[\"accuracy\"]:.2f}%  wall {s[\"wall_seconds\"]:.0f}s")'
}
for config in mnist-mlp mnist-cnn; do
    for backend in wgpu flex; do
        if [ "$backend" = wgpu ]; then
            extra=("$@")
        elif [ "$config" = mnist-cnn ]; then
            extra=(--set train.epochs=1)   # the CPU CNN is slow; one epoch gives its speed
        else
            extra=()
        fi
        "$anneal" train --config "configs/$config.toml" --backend "$backend" --runs-dir "$runs" \
            --name "$config-$backend" --json --quiet "${extra[@]}" | report
    done
done
