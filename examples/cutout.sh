#!/usr/bin/env bash
# Cut-outs of two generated product shots (off-white with a soft shadow; a grey gradient JPEG):
# transparent PNGs with masks, then the mug trimmed and put on a dark brand colour.
#   bash examples/cutout.sh [OUT_DIR]      (default: out/cutout)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-out/cutout}"
reelforge cutout "$here/media/headphones-on-white.jpg" "$here/media/mug-on-grey.jpg" -o "$out" --mask
reelforge cutout "$here/media/mug-on-grey.jpg" -o "$out/mug-on-navy.png" --crop --bg "#1b2a4a"
