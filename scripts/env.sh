# Sourced by the other scripts: one build profile (release) and one target directory outside
# the clone, so the dev loop, the main job and CI on the same machine share compiled Burn.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/anneal-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$CARGO_TARGET_DIR"
