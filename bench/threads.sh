#!/bin/sh
# Thread defaults (issue 15, item 5): wall and CPU seconds of the separation
# pipeline (musdb-slice | stft | tfswa-net | istft --wav) and of the scoring
# pipeline (... | istft | sdr) on the demo's test songs, with
#   old:   every tool on one thread (the defaults before: TFSWA_THREADS=1)
#   new:   the defaults now (tfswa-net, sdr, wiener on every CPU; the rest one)
#   all:   every tool on every CPU (TFSWA_THREADS=0), to see oversubscription
# and tfswa-net and sdr alone on stored input (what a pipeline cannot beat).
# Median of REPS runs, configurations interleaved. Never fails on time.
# Environment: BIN (default build/bin), MUSDB (default the demo set,
# examples/data/musdb-demo: `make data`), MODEL (default models/vocals-band.ckpt), REPS (3).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$TOP/build/bin}
MUSDB=${MUSDB:-$TOP/examples/data/musdb-demo}
MODEL=${MODEL:-$TOP/models/vocals-band.ckpt}
REPS=${REPS:-3}
[ -d "$MUSDB/test" ] || { echo "threads.sh: $MUSDB/test: not found (make data, or set MUSDB)" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/tfswa-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
export BIN MUSDB MODEL W
echo "CPU: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
secs=$("$BIN/musdb-slice" --list --split test "$MUSDB" | awk -F'\t' '{ s += $3 } END { print s }')
echo "demo test songs: $("$BIN/musdb-slice" --list --split test "$MUSDB" | wc -l) tracks, $secs s of audio; median of $REPS runs"

SEP='"$BIN/musdb-slice" -q --split test --stems vocals,other "$MUSDB" | "$BIN/stft" -q | "$BIN/tfswa-net" -q -m "$MODEL" | "$BIN/istft" -q --no-stream --wav "$W/out"'
SCORE='"$BIN/musdb-slice" -q --split test --stems vocals,other "$MUSDB" | "$BIN/stft" -q | "$BIN/tfswa-net" -q -m "$MODEL" | "$BIN/istft" -q | "$BIN/sdr" -q > /dev/null'
"$BIN/musdb-slice" -q --split test --stems vocals,other "$MUSDB" | "$BIN/stft" -q > "$W/spec.ts"
"$BIN/tfswa-net" -q -m "$MODEL" < "$W/spec.ts" | "$BIN/istft" -q > "$W/est.ts"
NET='"$BIN/tfswa-net" -q -m "$MODEL" < "$W/spec.ts" > /dev/null'
SDR='"$BIN/sdr" -q < "$W/est.ts" > /dev/null'

# run NAME ENV CMD: appends "wall user+sys" to $W/NAME
run() {
    case "$2" in
        old) e="TFSWA_THREADS=1" ;;
        all) e="TFSWA_THREADS=0" ;;
        *) e="" ;;
    esac
    env -u TFSWA_THREADS $e /usr/bin/time -f "%e %U %S" -o "$W/t" sh -c "$3"
    awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$W/t" >> "$W/$1"
}
i=0
while [ $i -lt "$REPS" ]; do
    for cfg in old new all; do
        run "sep-$cfg" $cfg "$SEP"
        run "score-$cfg" $cfg "$SCORE"
    done
    for cfg in old new; do
        run "net-$cfg" $cfg "$NET"
        run "sdr-$cfg" $cfg "$SDR"
    done
    i=$((i + 1))
done
med() { awk -v c="$2" '{ print $c }' "$W/$1" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf '%-44s %9s %9s %8s\n' "" "wall s" "CPU s" "vs old"
for what in sep score net sdr; do
    case $what in
        sep) label="separate (| stft | tfswa-net | istft --wav)" ;;
        score) label="score (| stft | tfswa-net | istft | sdr)" ;;
        net) label="tfswa-net alone (stored spectrograms)" ;;
        sdr) label="sdr alone (stored estimates)" ;;
    esac
    echo "$label"
    old=$(med "$what-old" 1)
    for cfg in old new all; do
        [ -f "$W/$what-$cfg" ] || continue
        w=$(med "$what-$cfg" 1) c=$(med "$what-$cfg" 2)
        printf '  %-42s %9s %9s %7.2fx\n' "$cfg" "$w" "$c" "$(echo "$old $w" | awk '{ print $1 / $2 }')"
    done
done
