#!/bin/sh
# The acceptance pipeline: musdb-slice ROOT | stft | istft gives back
# every waveform (mixture and stems, whole tracks and odd-length segments)
# within 1e-6 of its peak, with its attributes; the spectrogram matches a
# direct DFT; istft --wav writes the MUSDB layout.
set -u
H="$BUILD/tests/helpers"
MS="$BIN/musdb-slice"
[ -x "$MS" ] && [ -x "$H/musdb_fixture" ] || { echo "musdb-slice or its fixture helper not built" >&2; exit 1; }
C=$H/stft_check
cd "$TMPDIR" || exit 1
die() { echo "FAIL: $*" >&2; exit 1; }
"$H/musdb_fixture" tree db 0.7 > /dev/null || die fixture
"$MS" -q --split train,test db > w.ts 2> /dev/null || "$MS" --split train,test db > w.ts || die musdb-slice
"$BIN/stft" -q < w.ts | "$BIN/istft" -q > r.ts || die "stft | istft"
"$C" roundtrip w.ts r.ts 1e-6 || die "whole tracks"
"$MS" --split train --segment 0.3001 db > seg.ts 2> /dev/null || die "segments"
"$BIN/stft" -q -j 2 < seg.ts | "$BIN/istft" -q -j 2 > segr.ts && "$C" roundtrip seg.ts segr.ts 1e-6 || die "segments"
"$MS" --split test --segment 0.01 --count 2 db > d.ts 2> /dev/null || die "short segments"
"$BIN/stft" -q -n 128 -H 32 < d.ts > ds.ts && "$C" dft d.ts ds.ts || die "direct DFT"
"$BIN/stft" -q < w.ts | "$BIN/istft" -q --wav out --no-stream || die "--wav"
[ "$(find out -name mixture.wav | wc -l)" -ge 2 ] || die "--wav layout: $(find out)"
exit 0
