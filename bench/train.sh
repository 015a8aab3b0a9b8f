#!/bin/sh
# tfswa-net --train speed and memory: seconds per training step and peak
# resident memory for the `tiny` and `seed` presets, batch 1, 3 s examples
# (4 stems, 2048/512), with stored activations and with --recompute; and
# examples per second end to end through the pipe (musdb-slice | stft |
# tfswa-net --train), and under each line the trainer's split of a step
# (waiting for examples, forward, losses, backward, update). Target (issue 7): tiny 3 s in PyTorch 1.13 on this
# machine takes 31 s and 16.5 GB per step; tfswa should be >= 10x faster and
# use <= 1.6 GB. Never fails on time. Environment: BIN (default build/bin),
# PRESETS (default "tiny seed"), THREADS (default 2), STEPS (timed steps,
# default 3), BATCH (examples per step, default 1), SEGMENT (seconds per
# example, default 3), MODES (default "stored recompute"), E2E (0 skips the
# end-to-end line), MUSDB (default the demo set examples/data/musdb-demo).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$TOP/build/bin}
PRESETS=${PRESETS:-"tiny seed"}
THREADS=${THREADS:-2}
STEPS=${STEPS:-3}
BATCH=${BATCH:-1}; export BATCH
SEGMENT=${SEGMENT:-3}; export SEGMENT
MODES=${MODES:-"stored recompute"}
MUSDB=${MUSDB:-$TOP/examples/data/musdb-demo}
W=$(mktemp -d "${TMPDIR:-/tmp}/tfswa-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
[ -d "$MUSDB/train" ] || { echo "bench: $MUSDB: no data set (make data)" >&2; exit 1; }
n=$((STEPS + 1))
"$BIN/musdb-slice" --random --segment "$SEGMENT" --count $((n * BATCH)) --seed 1 "$MUSDB" | "$BIN/stft" -q > "$W/train.ts"
echo "batch $BATCH x $SEGMENT s, $THREADS threads"
echo "preset  mode       s/step(wall)  s/step(cpu)  peak RSS MB  (1 untimed warm-up step excluded)"
for p in $PRESETS; do
    for mode in $MODES; do
        "$BIN/tfswa-net" --init -q -m "$W/m.ckpt" --preset $p --force
        R=; [ $mode = recompute ] && R=--recompute
        # one step (start-up, first allocation), then n steps: the difference is STEPS steps
        for k in 1 $n; do
            cp "$W/m.ckpt" "$W/r$k.ckpt"
            /usr/bin/time -f "%e %U %S %M" -o "$W/t$k" "$BIN/tfswa-net" --train -m "$W/r$k.ckpt" \
                --batch-size "$BATCH" --steps $k --save-every 0 -j "$THREADS" $R "$W/train.ts" 2> "$W/err$k"
        done
        read e1 u1 s1 m1 < "$W/t1"
        read en un sn mn < "$W/t$n"
        awk -v p=$p -v m=$mode -v e1=$e1 -v en=$en -v c1="$u1 + $s1" -v u1=$u1 -v s1=$s1 -v un=$un -v sn=$sn \
            -v mem=$mn -v k=$STEPS 'BEGIN {
                w = (en - e1) / k; c = ((un + sn) - (u1 + s1)) / k;
                printf "%-7s %-10s %12.2f %12.2f %12.0f", p, m, w, c, mem / 1024;
                if (p == "tiny" && ENVIRON["BATCH"] == 1 && ENVIRON["SEGMENT"] == 3) printf "   vs PyTorch: %.1fx faster, %.1fx less memory", 31 / w, 16.5e3 / (mem / 1024);
                printf "\n" }'
        # the trainer's own account of a step (mean over the n steps, the first included)
        sed -n 's/^tfswa-net: \(.* per step:\)/        \1/p' "$W/err$n"
    done
done
[ "${E2E:-1}" = 0 ] && exit 0
# end to end: examples per second through the pipe (tiny, batch 4, 3 s)
"$BIN/tfswa-net" --init -q -m "$W/e.ckpt" --preset tiny --force
s=$(date +%s.%N)
"$BIN/musdb-slice" --random --segment 3 --count 12 --seed 2 "$MUSDB" | "$BIN/stft" -q |
    "$BIN/tfswa-net" --train -q -m "$W/e.ckpt" --batch-size 4 --steps 3 --save-every 0 -j "$THREADS"
e=$(date +%s.%N)
awk -v s=$s -v e=$e 'BEGIN { printf "end to end (tiny, batch 4, 3 s, 12 examples): %.2f examples/s\n", 12 / (e - s) }'
