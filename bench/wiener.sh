#!/bin/sh
# What the multichannel Wiener filter (wiener(1)) adds on the demo's test
# songs and what it costs: the shipped model's estimates (stored once), then
# wiener with 0 (off), 1, 2 and 3 iterations (blocks of 300 frames,
# Open-Unmix's) and 1 iteration on whole tracks, each scored by sdr (museval's
# median of track medians and the MDX mean global SDR per stem) and timed
# (wall and CPU seconds of wiener alone, peak memory). The oracle ideal ratio
# mask with and without the filter shows what it does to a good estimate.
# Never fails on time. Environment: BIN (default build/bin), MUSDB (default
# the demo set, examples/data/musdb-demo: `make data`), MODEL (default
# models/vocals-band.ckpt), THREADS (wiener's -j; default all CPUs).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$TOP/build/bin}
MUSDB=${MUSDB:-$TOP/examples/data/musdb-demo}
MODEL=${MODEL:-$TOP/models/vocals-band.ckpt}
THREADS=${THREADS:-0}
[ -d "$MUSDB/test" ] || { echo "wiener.sh: $MUSDB/test: not found (make data, or set MUSDB)" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/tfswa-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
echo "CPU: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
secs=$("$BIN/musdb-slice" --list --split test "$MUSDB" | awk -F'\t' '{ s += $3 } END { print s }')
echo "demo test songs: $("$BIN/musdb-slice" --list --split test "$MUSDB" | wc -l) tracks, $secs s of audio; model $(basename "$MODEL"); wiener -j $THREADS"
"$BIN/musdb-slice" -q --split test --stems vocals,other "$MUSDB" | "$BIN/stft" -q > "$W/spec.ts"
"$BIN/tfswa-net" -q -m "$MODEL" < "$W/spec.ts" > "$W/model.ts"
"$BIN/oracle" -q --irm < "$W/spec.ts" > "$W/irm.ts"
printf '%-26s %9s %9s %9s %9s %8s %8s %8s\n' "" "vocals" "" "other" "" "wiener" "" ""
printf '%-26s %9s %9s %9s %9s %8s %8s %8s\n' "estimates, wiener" "museval" "MDX" "museval" "MDX" "wall s" "CPU s" "peak MB"
row() { # label input wiener-options
    if [ -n "$3" ]; then
        /usr/bin/time -f "%e %U %S %M" -o "$W/t" "$BIN/wiener" -q -j "$THREADS" $3 < "$2" > "$W/w.ts"
        t=$(awk '{ printf "%8.2f %8.2f %8.0f", $1, $2 + $3, $4 / 1024 }' "$W/t")
    else
        cp "$2" "$W/w.ts"
        t=$(printf '%8s %8s %8s' - - -)
    fi
    "$BIN/istft" -q < "$W/w.ts" | "$BIN/sdr" -q > "$W/s.txt"
    v=$(awk '/^SDR as published/ { on = 1; next } on && $1 == "vocals" { print $2, $3 }' "$W/s.txt")
    o=$(awk '/^SDR as published/ { on = 1; next } on && $1 == "other" { print $2, $3 }' "$W/s.txt")
    printf '%-26s %9s %9s %9s %9s %s\n' "$1" $v $o "$t"
}
row "model, off" "$W/model.ts" ""
row "model, 1 iteration" "$W/model.ts" "-i 1"
row "model, 2 iterations" "$W/model.ts" "-i 2"
row "model, 3 iterations" "$W/model.ts" "-i 3"
row "model, 1 it., whole track" "$W/model.ts" "-i 1 -b 0"
row "model, 1 it., eps 2^-23" "$W/model.ts" "-i 1 --eps 1.1920929e-07"
row "oracle IRM, off" "$W/irm.ts" ""
row "oracle IRM, 1 iteration" "$W/irm.ts" "-i 1"
echo "(SDR in dB: museval = median over tracks of the track medians, MDX = mean global SDR; tfswa-net alone took"
/usr/bin/time -f "%e s wall, %U s user on the same input)" "$BIN/tfswa-net" -q -m "$MODEL" < "$W/spec.ts" > /dev/null
