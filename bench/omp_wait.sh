#!/bin/sh
# OpenMP's waiting (tfswa(7), ENVIRONMENT): how idle threads wait, compared
# in one run on one machine, configurations interleaved, median of REPS runs:
#   libgomp:  libgomp's default, what the tools run with (spin 300000, then sleep)
#   spin10k:  OMP_WAIT_POLICY=passive GOMP_SPINCOUNT=10000 (spin 10000, then
#             sleep: the tools set this until 2026-12, restarting themselves to do so)
#   passive:  OMP_WAIT_POLICY=passive (sleep at once)
# on (1) 5 training steps of the tiny preset, 2 threads, (2) the separation
# pipeline of the demo's test songs (musdb-slice | stft | tfswa-net | istft:
# four processes on the cores), (3) tfswa-net alone beside a busy loop that
# holds one core. Prints wall seconds and each configuration's ratio to
# libgomp's. Never fails on time.
# Environment: BIN (default build/bin), MUSDB (default examples/data/musdb-demo:
# `make data`), MODEL (default models/vocals-band.ckpt), REPS (3).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$TOP/build/bin}
MUSDB=${MUSDB:-$TOP/examples/data/musdb-demo}
MODEL=${MODEL:-$TOP/models/vocals-band.ckpt}
REPS=${REPS:-3}
[ -d "$MUSDB/test" ] || { echo "omp_wait.sh: $MUSDB/test: not found (make data, or set MUSDB)" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/tfswa-bench.XXXXXX")
trap 'kill $busy 2>/dev/null || true; rm -rf "$W"' EXIT
busy=
echo "CPU: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); median of $REPS runs"

# the inputs: training examples (6 s segments of the demo's train songs), a tiny model, the test songs' spectrograms
"$BIN/musdb-slice" -q --random --segment 6 --count 8 --seed 1 -S vocals,other "$MUSDB" | "$BIN/stft" -q > "$W/train.ts"
"$BIN/tfswa-net" -q --init --preset tiny --stems vocals,other --seed 1 -m "$W/tiny.ckpt" 2>/dev/null
"$BIN/musdb-slice" -q --split test --stems vocals,other "$MUSDB" | "$BIN/stft" -q > "$W/spec.ts"

TRAIN='cp "$W/tiny.ckpt" "$W/t.ckpt" && "$BIN/tfswa-net" -q --train -m "$W/t.ckpt" --batch-size 1 --steps 5 -j 2 "$W/train.ts"'
SEP='"$BIN/musdb-slice" -q --split test --stems vocals,other "$MUSDB" | "$BIN/stft" -q | "$BIN/tfswa-net" -q -m "$MODEL" | "$BIN/istft" -q > /dev/null'
NET='"$BIN/tfswa-net" -q -j 2 -m "$MODEL" < "$W/spec.ts" > /dev/null'
export BIN MUSDB MODEL W

# run FILE CONFIG CMD: appends the wall seconds to FILE
run() {
    case "$2" in
        libgomp) e="" ;;
        spin10k) e="OMP_WAIT_POLICY=passive GOMP_SPINCOUNT=10000" ;;
        passive) e="OMP_WAIT_POLICY=passive" ;;
    esac
    env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT $e /usr/bin/time -f "%e" -o "$W/t" sh -c "$3"
    cat "$W/t" >> "$1"
}
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

for job in train sep net; do
    case $job in
        train) cmd=$TRAIN; what="5 training steps, tiny, 2 threads" ;;
        sep) cmd=$SEP; what="separation pipeline, demo test songs" ;;
        net) cmd=$NET; what="tfswa-net -j 2 beside a busy loop" ;;
    esac
    if [ $job = net ]; then (while :; do :; done) & busy=$!; fi
    r=0
    while [ $r -lt "$REPS" ]; do
        for c in libgomp spin10k passive; do run "$W/$job.$c" $c "$cmd"; done
        r=$((r + 1))
    done
    if [ $job = net ]; then kill $busy; wait $busy 2>/dev/null || true; busy=; fi
    base=$(median "$W/$job.libgomp")
    printf '%-40s' "$what:"
    for c in libgomp spin10k passive; do
        m=$(median "$W/$job.$c")
        printf '  %s %6.2f s (%.2fx)' $c "$m" "$(echo "$m $base" | awk '{ print ($2 > 0 ? $1 / $2 : 0) }')"
    done
    echo
done
