#!/usr/bin/env bash
# Checks what a fresh machine needs to build and test anneal. The Rust toolchain (cargo,
# rustc ≥ 1.95) is expected; nothing else is needed by the CPU backends. Safe to rerun.
set -euo pipefail
if ! command -v cargo >/dev/null; then
    echo "anneal needs the Rust toolchain (cargo, rustc >= 1.95): see https://rustup.rs" >&2
    exit 1
fi
rustc_minor=$(rustc --version | sed -E 's/rustc 1\.([0-9]+).*/\1/')
if [ "$rustc_minor" -lt 95 ]; then
    echo "anneal needs rustc >= 1.95, found $(rustc --version)" >&2
    exit 1
fi
