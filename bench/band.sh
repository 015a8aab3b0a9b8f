#!/bin/sh
# The band preset against tiny (issue 14): FLOPs per second of audio
# (tfswa-net --info, 6 s chunks), separation of 3 s and of a 3-minute track
# (seconds, peak memory: bench/tfswa-net.sh) and one training step on a
# batch of 4 x 6 s examples (bench/train.sh), both presets on this machine in
# the same run. Never fails on time. Environment: BIN (default build/bin),
# THREADS (default 2), MUSDB (the demo set by default; `make data`).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$TOP/build/bin}
THREADS=${THREADS:-2}
W=$(mktemp -d "${TMPDIR:-/tmp}/tfswa-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
echo "CPU: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores"
for p in tiny band; do
    "$BIN/tfswa-net" --init -q -m "$W/$p.ckpt" --preset $p
    printf '%-5s %s, %s\n' $p "$("$BIN/tfswa-net" --info -m "$W/$p.ckpt" | sed -n 's/^parameters *\([0-9]*\) trainable.*/\1 parameters/p')" \
        "$("$BIN/tfswa-net" --info -m "$W/$p.ckpt" | sed -n 's/^FLOPs *//p')"
done
BIN=$BIN CASES="tiny:3 band:3 tiny:180 band:180" THREADS=$THREADS sh "$TOP/bench/tfswa-net.sh"
BIN=$BIN PRESETS="tiny band" BATCH=4 SEGMENT=6 MODES=stored STEPS=${STEPS:-2} E2E=0 THREADS=$THREADS \
    sh "$TOP/bench/train.sh"
