#!/bin/sh
# stft / istft throughput in seconds of stereo 44.1 kHz audio per second of
# wall time, on a 3-minute track (SECONDS to change), 2048/512: the library
# alone (in memory) and the tools on a stream file (I/O included), 1 and 2
# threads, with peak memory; PyTorch 1.13 (torch.stft/istft, 1 thread) as
# the reference where /usr/bin/python3 has torch. Never fails on time.
# BUILD=dir selects the build (default build; the helpers come from
# `make check-build`).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
B="$TOP/${BUILD:-build}"
SEC=${SECONDS_AUDIO:-180}
W=$(mktemp -d "${TMPDIR:-/tmp}/tfswa-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
for h in stft_gen stft_bench; do
    [ -x "$B/tests/helpers/$h" ] || make -s -C "$TOP" BUILD="${BUILD:-build}" "$B/tests/helpers/$h" >/dev/null
done
now() { date +%s.%N; }
run() { # label command...
    label=$1; shift
    t0=$(now)
    if [ -x /usr/bin/time ]; then /usr/bin/time -f "%M" -o "$W/rss" "$@"; else "$@"; fi
    t1=$(now)
    awk -v l="$label" -v a="$t0" -v b="$t1" -v s="$SEC" \
        'BEGIN { d = b - a; printf "%-40s %7.2f s  %7.0f s of stereo audio per second\n", l, d, s / (d > 0 ? d : 1e-9) }'
    if [ -f "$W/rss" ]; then echo "    peak RSS $(($(cat "$W/rss") / 1024)) MiB"; rm -f "$W/rss"; fi
    return 0
}
echo "stft benchmark: $SEC s of stereo noise at 44.1 kHz, n_fft 2048, hop 512 ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
"$B/tests/helpers/stft_bench" 2048 512 "$SEC" 1 3
"$B/tests/helpers/stft_bench" 2048 512 "$SEC" 2 3
"$B/tests/helpers/stft_gen" -r 1 mixture:2:$((SEC * 44100)) > "$W/w.ts"
"$B/bin/stft" -q < "$W/w.ts" > "$W/s.ts"
echo "stream sizes: waveform $(($(stat -c %s "$W/w.ts") / 1048576)) MiB, spectrogram $(($(stat -c %s "$W/s.ts") / 1048576)) MiB"
for j in 1 2; do
    run "stft tool, $j thread(s) (file -> /dev/null)" sh -c "'$B/bin/stft' -q -j $j < '$W/w.ts' > /dev/null"
    run "istft tool, $j thread(s) (file -> /dev/null)" sh -c "'$B/bin/istft' -q -j $j < '$W/s.ts' > /dev/null"
done
run "stft | istft pipeline, 1 thread each" sh -c "'$B/bin/stft' -q < '$W/w.ts' | '$B/bin/istft' -q > /dev/null"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    /usr/bin/python3 - "$SEC" <<'PY'
import sys, time, torch
torch.set_num_threads(1)
sec = float(sys.argv[1])
x = torch.rand(2, int(sec * 44100)) * 2 - 1
w = torch.hann_window(2048)
bf = bi = 1e30
for _ in range(2):
    t0 = time.time()
    X = torch.stft(x, 2048, 512, window=w, center=True, pad_mode="reflect", return_complex=True)
    t1 = time.time()
    y = torch.istft(X, 2048, 512, window=w, center=True, length=x.shape[1])
    t2 = time.time()
    bf, bi = min(bf, t1 - t0), min(bi, t2 - t1)
print("torch 1.13, 1 thread, %.0f s stereo: stft %.3f s (%.0f s/s), istft %.3f s (%.0f s/s)"
      % (sec, bf, sec / bf, bi, sec / bi))
PY
else
    echo "torch not available to /usr/bin/python3: no reference figures"
fi
