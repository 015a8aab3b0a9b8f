#!/bin/sh
# musdb-slice throughput: random 6 s segments per second (one core; musdb-slice is
# single-threaded) from a folder of 16-bit WAV tracks in the MUSDB18-HQ layout, written to
# /dev/null and through a pipe, plain and with augmentation (gain + swap + remix; then time
# stretch and pitch shift, which cost rubberband time; --threads 2 makes records in parallel,
# CPU seconds then add up over threads), with the maximum RSS; and a
# sequential pass over the test split. Training consumes a few segments per second at most,
# so the aim is 100+ segments/s without stretch/pitch. Prints figures; never fails on time.
#   BUILD=dir (default build), SECONDS_PER_TRACK (default 40), COUNT (default 300).
set -e
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
BUILD=${BUILD#$TOP/}
make -C "$TOP" --no-print-directory BUILD="$BUILD" "$BUILD/bin/musdb-slice" "$BUILD/tests/helpers/musdb_fixture" \
    "$BUILD/tests/helpers/musdb_verify" >/dev/null
case "$BUILD" in /*) B="$BUILD" ;; *) B="$TOP/$BUILD" ;; esac
MS="$B/bin/musdb-slice"
SECS=${SECONDS_PER_TRACK:-40}
COUNT=${COUNT:-300}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/musdb-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT INT TERM
"$B/tests/helpers/musdb_fixture" tree "$DIR/db" "$SECS"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "data: 6 tracks of ${SECS}-$(echo "$SECS + 1.85" | bc) s, $(du -sh "$DIR/db" | cut -f1) of 16-bit WAV (in the page cache after the first pass)"
cat "$DIR"/db/*/*/*.wav >/dev/null

# CPU seconds (user + system) are the figure to trust on a shared machine; wall time is shown too.
run() { # label count args...   (count 0: no --count)
    label=$1 n=$2; shift 2
    if [ "$n" -gt 0 ]; then
        set -- "$@" --count "$n"
        recs=$n
    else
        recs=$("$MS" --split all "$@" "$DIR/db" | "$B/tests/helpers/musdb_verify" --describe | wc -l)
    fi
    /usr/bin/time -f "%e %U %S %M" -o "$DIR/time" "$MS" --split all "$@" --seed 1 "$DIR/db" >/dev/null
    read -r wall usr sys rss <"$DIR/time"
    cpu=$(echo "$usr + $sys" | bc)
    echo "$label: $recs records, CPU $cpu s = $(echo "scale=1; $recs / $cpu" | bc) records/CPU-s (wall $wall s), max RSS $rss kB"
}
run "random 6 s segments -> /dev/null          " "$COUNT" --random --segment 6
/usr/bin/time -f "%e" -o "$DIR/time" sh -c "'$MS' --split all --random --segment 6 --count $COUNT --seed 1 '$DIR/db' | cat >/dev/null"
read -r wall <"$DIR/time"
echo "random 6 s segments | cat >/dev/null      : $COUNT records, wall $wall s = $(echo "scale=1; $COUNT / $wall" | bc) records/s"
run "random 6 s, vocals,accompaniment          " "$COUNT" --random --segment 6 --stems vocals,accompaniment
run "random 6 s + gain, swap, remix            " "$COUNT" --random --segment 6 --gain-prob 1 --swap-prob 0.5 --remix-prob 0.5
run "random 6 s + mixup (two examples a record)" "$COUNT" --random --segment 6 --mixup-prob 1
N2=$(( COUNT / 60 + 2 ))
run "random 6 s + time stretch (every record)  " "$N2" --random --segment 6 --stretch-prob 1
run "random 6 s + pitch shift (every record)   " "$N2" --random --segment 6 --pitch-prob 1
run "random 6 s + stretch, --threads 2         " "$N2" --random --segment 6 --stretch-prob 1 --threads 2
run "random 6 s, --threads 2                   " "$COUNT" --random --segment 6 --threads 2
run "sequential 6 s segments, all tracks       " 0 --segment 6 --quiet
run "whole tracks, all                         " 0 --quiet
echo "(a 6 s record of mixture + 4 stems is 10.6 MB; about a third of the plain cost is the stream's CRC-32)"
