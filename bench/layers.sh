#!/bin/sh
# Primitive layers (lib/nn/layers.h) at model shapes: GFLOP/s of linear
# (tokens x C -> 4C, C = 16..256, 265475 tokens = F 1025 x T 259) and of the
# convolutions (stem, down, up, head) on a 1025 x 259 image, forward and
# backward, ns/element of the elementwise layers; 1 and 2 threads, with the
# maximum RSS. GFLOP/s per wall second and per CPU second (the latter is
# steadier on a shared machine). Prints times; never fails on time.
# Then the linears at the TFSWA layer's shapes (qkv, proj, fc1, fc2 for
# C = 16..256): lib/nn/linear.c's register-blocked kernels against OpenBLAS,
# forward, dx and dW + db, GFLOP/s per CPU second and the speed-up; and the
# column sums. use_own() in lib/nn/linear.c picks per product from these.
#   BUILD=dir (default build) selects the build tree; TOKENS, F, T override sizes;
#   LTOKENS (default 65536) the tokens of the linear comparison.
set -e
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
BUILD=${BUILD#$TOP/}
case "$BUILD" in /*) dir="$BUILD/tests/helpers" ;; *) dir="$TOP/$BUILD/tests/helpers" ;; esac
prog="$dir/layers_bench"
lprog="$dir/linear_bench"
if ! make -C "$TOP" --no-print-directory BUILD="$BUILD" "$BUILD/tests/helpers/layers_bench" \
    "$BUILD/tests/helpers/linear_bench" >/dev/null; then
    [ -x "$prog" ] && [ -x "$lprog" ] || { echo "layers.sh: cannot build $prog" >&2; exit 1; }
    echo "layers.sh: build failed; using the existing $prog" >&2
fi
TOKENS=${TOKENS:-265475}
F=${F:-1025}
T=${T:-259}
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
for th in 1 2; do
    echo "--- $th thread(s)"
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f "max RSS %M kB, wall %e s" "$prog" "$th" "$TOKENS" "$F" "$T"
    else
        "$prog" "$th" "$TOKENS" "$F" "$T"
    fi
done
LTOKENS=${LTOKENS:-65536}
for th in 1 2; do
    echo "--- linear kernels, $th thread(s)"
    "$lprog" "$th" "$LTOKENS"
done
