#!/usr/bin/env bash
# Prepares a fresh machine to build and test anneal. Safe to rerun.
# - The Rust toolchain (cargo, rustc >= 1.95) is expected.
# - The wgpu backend's tests need a Vulkan driver; on a machine without a GPU that is Mesa's
#   software driver (lavapipe), installed here from Debian's packages when it is missing.
# - The tests of command objectives (any program as a sweep's objective) run small Python
#   scripts: python3 from Debian's packages when it is missing.
# - The report test opens a generated HTML report in a real browser: Debian's chromium (headless)
#   with a font, installed when missing.
# - The PostgreSQL storage's tests start their own throwaway server (initdb + pg_ctl in a
#   temporary folder, stopped when the test ends): Debian's postgresql package, installed when
#   missing. Nothing here starts a server.
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

apt_install() {
    if ! command -v apt-get >/dev/null; then
        echo "warning: no apt-get to install $*; some tests will fail" >&2
        return 0
    fi
    local sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -q >/dev/null || true
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "$@" >/dev/null
}

if ! command -v python3 >/dev/null; then
    echo "installing python3 (python3-minimal) for the command-objective tests" >&2
    apt_install python3-minimal
fi

vulkan_ready() {
    ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q libvulkan.so.1
}
if ! vulkan_ready; then
    echo "installing Mesa's Vulkan driver (mesa-vulkan-drivers libvulkan1) for the wgpu backend" >&2
    apt_install mesa-vulkan-drivers libvulkan1
fi

if ! command -v chromium >/dev/null; then
    echo "installing chromium (headless) and a font for the HTML report's browser test" >&2
    apt_install chromium fonts-dejavu-core
fi

postgres_ready() {
    command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
if ! postgres_ready; then
    echo "installing postgresql (server binaries) for the PostgreSQL storage's tests" >&2
    apt_install postgresql
fi
