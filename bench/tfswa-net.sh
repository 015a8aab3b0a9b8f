#!/bin/sh
# tfswa-net inference speed and memory: seconds, peak resident memory and the
# FLOP rate achieved to separate 3 s and a 3-minute track with the `tiny` and
# `seed` presets (or any preset named in CASES, e.g. band; untrained weights: the cost does not depend on them), with
# 1 and 2 threads; ratios against the PyTorch 1.13 figures of this 2-core
# machine (seed 3 s: 117 s, 17.9 GB; tiny 3 s: 14.8 s, 5 GB; DESIGN.md).
# Wall seconds and CPU seconds (user + system: less disturbed by other
# load on a shared machine). Never fails on time. Environment: BIN (tools, default build/bin), CASES
# (default "tiny:3 seed:3 tiny:180 seed:180"), THREADS (default "1 2"),
# CHUNK (seconds, default: tfswa-net's), KEEP=1 keeps the scratch directory.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$TOP/build/bin}
PYTHON=${PYTHON:-/usr/bin/python3}
CASES=${CASES:-"tiny:3 seed:3 tiny:180 seed:180"}
THREADS=${THREADS:-"1 2"}
W=$(mktemp -d "${TMPDIR:-/tmp}/tfswa-bench.XXXXXX")
[ "${KEEP:-0}" = 1 ] || { trap 'rm -rf "$W"' EXIT; trap 'exit 130' INT TERM; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
CH=${CHUNK:+--chunk $CHUNK}

for p in $(for c in $CASES; do echo "${c%%:*}"; done | sort -u); do
    "$BIN/tfswa-net" --init -q -m "$W/$p.ckpt" --preset $p
done
mkinput() { # seconds -> $W/in$1.ts (a stereo mixture spectrogram, 2048/512)
    [ -f "$W/in$1.ts" ] && return
    "$PYTHON" - "$1" "$W/wav$1.ts" <<'PY'
import sys
sys.path.insert(0, __import__("os").environ.get("TOP", ".") + "/examples/python")
import numpy as np, tfswa_stream as ts
sec, out = float(sys.argv[1]), sys.argv[2]
n = int(sec * 44100)
rng = np.random.default_rng(0)
t = np.arange(n) / 44100
x = 0.1 * rng.standard_normal((2, n)) + 0.3 * np.sin(2 * np.pi * 220 * t)
with open(out, "wb") as f:
    ts.write(f, [({"track": f"bench{sec:g}", "rate": "44100", "offset": "0", "length": str(n)},
                  {"mixture": x.astype(np.float32)})])
PY
    "$BIN/stft" -q "$W/wav$1.ts" > "$W/in$1.ts"
    rm -f "$W/wav$1.ts"
}
export TOP
printf '%-6s %6s %7s %9s %9s %10s %9s %12s %s\n' preset audio threads seconds "cpu s" "peak MB" GFLOP/s "x realtime" "vs PyTorch 1.13 (3 s)"
for c in $CASES; do
    p=${c%%:*} s=${c#*:}
    mkinput "$s"
    # FLOPs: per second of audio at the chunk length used, times the audio the chunks cover
    # the chunk length of the run (frames), and FLOPs per second of audio at the length
    # actually run: the whole track when it is shorter than a chunk
    frames() { echo "$1" | awk '/^FLOPs/ {gsub(/[(]/,""); for (i=1;i<=NF;i++) if ($i=="chunks") print $(i+2)}'; }
    chunk=$(frames "$("$BIN/tfswa-net" --info -m "$W/$p.ckpt" $CH)")
    T=$(awk -v s="$s" 'BEGIN {print 1 + int(s * 44100 / 512)}')
    ich=$CH
    [ "$T" -lt "$chunk" ] && ich="--chunk $(awk -v T="$T" 'BEGIN {print T * 512 / 44100}')"
    gfps=$("$BIN/tfswa-net" --info -m "$W/$p.ckpt" $ich | awk '/^FLOPs/ {print $2}')
    for j in $THREADS; do
        /usr/bin/time -v "$BIN/tfswa-net" -q -j "$j" -m "$W/$p.ckpt" $CH "$W/in$s.ts" > "$W/out.ts" 2> "$W/time.txt" \
            || { echo "bench: tfswa-net failed:"; cat "$W/time.txt"; exit 1; }
        sec=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); v=0; for(i=1;i<=n;i++) v=v*60+a[i]; print v}' "$W/time.txt")
        kb=$(awk -F': ' '/Maximum resident/ {print $2}' "$W/time.txt")
        cpu=$(awk -F': ' '/User time|System time/ {v += $2} END {print v}' "$W/time.txt")
        awk -v p="$p" -v s="$s" -v j="$j" -v sec="$sec" -v kb="$kb" -v cpu="$cpu" -v g="$gfps" -v ch="$chunk" 'BEGIN {
            fps = 44100 / 512; T = 1 + int(s * 44100 / 512); L = ch;
            if (T <= L) covered = T / fps; else { O = int(1 * fps + 0.5); n = int((T - O + L - O - 1) / (L - O)); covered = n * L / fps }
            ref = ""; if (s == 3 && p == "seed") ref = sprintf("%.1fx faster, %.1fx less memory", 117 / sec, 17.9e6 / kb);
            if (s == 3 && p == "tiny") ref = sprintf("%.1fx faster, %.1fx less memory", 14.8 / sec, 5.0e6 / kb);
            printf "%-6s %5gs %7d %9.2f %9.2f %10.0f %9.1f %12.2f %s\n", p, s, j, sec, cpu, kb / 1024, g * covered / sec, s / sec, ref }'
    done
done
