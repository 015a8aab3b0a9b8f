#!/bin/sh
# Attention core and TFSWA layers (lib/nn/attention.c, lib/nn/tlayer.c) at model shapes.
# Core: FSA (L = 1025 frequency bins, head dims 4, 8, 16), TSA (L = 259 frames),
# windows (L = 64, relative bias + mask): seconds and GFLOP/s of the tiled
# forward and backward (matrix-product FLOPs, 4 L^2 D forward, 10 L^2 D
# backward), ns per (query, key) pair and core for both (and the backward's
# cost per pair as a multiple of the forward's), of the kernels in their own
# layout (attn_forward_t / attn_backward_t, what tlayer packs), against a
# naive forward that materialises each L x L matrix with OpenBLAS GEMMs. Layers: the four kinds,
# forward + backward, for the seed preset's first stage (C 32, 8 heads,
# F 1025, T 259 = 3 s) and the tiny preset's (C 16, 2 heads); act and scratch
# sizes. 1 and 2 threads, max RSS. Prints figures; never fails on time.
#   BUILD=dir (default build); FRAMES (core batch, default 16); F, T (layer grid).
set -e
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
BUILD=${BUILD#$TOP/}
make -C "$TOP" --no-print-directory BUILD="$BUILD" "$BUILD/tests/helpers/attn_bench" >/dev/null
case "$BUILD" in /*) prog="$BUILD/tests/helpers/attn_bench" ;; *) prog="$TOP/$BUILD/tests/helpers/attn_bench" ;; esac
FRAMES=${FRAMES:-16}
F=${F:-1025}
T=${T:-259}
run() {
    if [ -x /usr/bin/time ]; then /usr/bin/time -f "    max RSS %M kB, wall %e s" "$prog" "$@"; else "$prog" "$@"; fi
}
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
for th in 1 2; do
    echo "--- attention core, $th thread(s), $FRAMES frames"
    run core "$th" "$FRAMES"
done
for th in 1 2; do
    echo "--- layers, seed stage 1 (C 32, 8 heads, D 4), $th thread(s)"
    run layer "$th" 32 8 "$F" "$T"
    echo "--- layers, tiny stage 1 (C 16, 2 heads, D 8), $th thread(s)"
    run layer "$th" 16 2 "$F" "$T"
done
