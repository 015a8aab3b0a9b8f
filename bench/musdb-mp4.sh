#!/bin/sh
# Reading MUSDB18 as downloaded (.stem.mp4, five AAC streams) against its WAV twin (the
# same streams decoded by ffmpeg to float WAV): the cost of opening the root (--list),
# random 6 s segments (exact: each stream decoded whole from its start and cached, 512 MiB;
# --fast-seek: decoded from 8192 samples before the segment), and whole tracks. One core;
# CPU seconds (user + system) are the figure to trust on a shared machine. Prints figures;
# never fails on time.
#   BUILD=dir (default build), SECONDS_PER_TRACK (default 60), TRACKS (default 6), COUNT (default 20).
set -e
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
BUILD=${BUILD#$TOP/}
command -v ffmpeg >/dev/null || { echo "bench/musdb-mp4.sh: ffmpeg is needed (make deps)" >&2; exit 1; }
make -C "$TOP" --no-print-directory BUILD="$BUILD" "$BUILD/bin/musdb-slice" "$BUILD/tests/helpers/musdb_fixture" >/dev/null
case "$BUILD" in /*) B="$BUILD" ;; *) B="$TOP/$BUILD" ;; esac
MS="$B/bin/musdb-slice"
SECS=${SECONDS_PER_TRACK:-60}
COUNT=${COUNT:-20}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/musdb-mp4-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT INT TERM
"$B/tests/helpers/musdb_fixture" tree "$DIR/hq" "$SECS"
FF="ffmpeg -nostdin -hide_banner -loglevel error -y"
n=0
for d in "$DIR"/hq/*/*/; do
    d=${d%/}
    rel=${d#$DIR/hq/}
    mkdir -p "$DIR/mp4/${rel%/*}" "$DIR/wav/$rel"
    $FF -i "$d/mixture.wav" -i "$d/drums.wav" -i "$d/bass.wav" -i "$d/other.wav" -i "$d/vocals.wav" \
        -map 0 -map 1 -map 2 -map 3 -map 4 -c:a aac -b:a 256k "$DIR/mp4/$rel.stem.mp4"
    k=0
    for s in mixture drums bass other vocals; do
        $FF -i "$DIR/mp4/$rel.stem.mp4" -map 0:$k -c:a pcm_f32le "$DIR/wav/$rel/$s.wav"
        k=$((k + 1))
    done
    n=$((n + 1))
done
[ -f "$DIR/hq/valid.txt" ] && cp "$DIR/hq/valid.txt" "$DIR/mp4/" && cp "$DIR/hq/valid.txt" "$DIR/wav/"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "data: $n tracks of about $SECS s; .stem.mp4 (AAC 256 kbit/s) $(du -sh "$DIR/mp4" | cut -f1), float WAV twin $(du -sh "$DIR/wav" | cut -f1)"
cat "$DIR"/mp4/*/* "$DIR"/wav/*/*/* >/dev/null

run() { # label root records args...
    label=$1 root=$2 recs=$3; shift 3
    /usr/bin/time -f "%e %U %S %M" -o "$DIR/time" "$MS" -q --split all "$@" "$DIR/$root" >/dev/null
    read -r wall usr sys rss <"$DIR/time"
    cpu=$(echo "$usr + $sys" | bc)
    echo "$label: CPU $cpu s ($(echo "scale=3; $cpu / $recs" | bc) s a record; wall $wall s), max RSS $rss kB"
}
for r in mp4 wav; do run "$r: --list (open and check $n tracks)        " $r $n --list; done
run "mp4: random 6 s segments, exact (default)    " mp4 "$COUNT" --random --segment 6 --count "$COUNT" --seed 1
run "mp4: random 6 s segments, --fast-seek        " mp4 "$COUNT" --random --segment 6 --count "$COUNT" --seed 1 --fast-seek
run "wav: random 6 s segments                     " wav "$COUNT" --random --segment 6 --count "$COUNT" --seed 1
run "mp4: whole tracks                            " mp4 "$n"
run "wav: whole tracks                            " wav "$n"
