#!/usr/bin/env bash
# CI's check that the console's window renders: `rangepilot --screenshot` on the default simulated
# cluster must exit 0 and write a PNG of the whole window (at least 1200x800, not a blank image).
# Usage: check_screenshot.sh RANGEPILOT OUTPUT.png
set -euo pipefail
console=$1
shot=$2
rm -f "$shot"
"$console" --screenshot "$shot" --after 1800
if [ ! -s "$shot" ]; then
    echo "check_screenshot: $shot was not written" >&2
    exit 1
fi
# PNG signature, then the IHDR chunk's width and height (big-endian, bytes 16..23).
signature=$(od -An -tx1 -N8 "$shot" | tr -d ' \n')
if [ "$signature" != "89504e470d0a1a0a" ]; then
    echo "check_screenshot: $shot is not a PNG (signature $signature)" >&2
    exit 1
fi
width=$((16#$(od -An -tx1 -j16 -N4 "$shot" | tr -d ' \n')))
height=$((16#$(od -An -tx1 -j20 -N4 "$shot" | tr -d ' \n')))
size=$(stat -c %s "$shot")
echo "check_screenshot: $shot ${width}x${height}, $size bytes"
if [ "$width" -lt 1200 ] || [ "$height" -lt 800 ]; then
    echo "check_screenshot: the window is too small" >&2
    exit 1
fi
# A rendered console (heatmap, tables, text) compresses far worse than an empty window.
if [ "$size" -lt 100000 ]; then
    echo "check_screenshot: $size bytes is too little for a rendered console" >&2
    exit 1
fi
