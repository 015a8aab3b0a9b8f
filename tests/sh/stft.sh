#!/bin/sh
# stft | istft on streams: round trips within 1e-6 of the peak for several
# n_fft/hop pairs and lengths (tiny, odd, silence, noise), the spectrogram
# matches a direct DFT, the bits do not depend on the threads, masking is
# seeded and shared, and bad input gets clear errors.

# against a direct DFT, masking (shared masks keep mixture = sum of
# targets, seeded, thread-independent), attributes, and clear errors.
set -u
G=$BUILD/tests/helpers/stft_gen
C=$BUILD/tests/helpers/stft_check
cd "$TMPDIR" || exit 1
die() { echo "FAIL: $*" >&2; exit 1; }

"$G" -r 2 mixture:2:44100 vocals:2:44100 odd:1:1001 tiny:2:5 one:1:1 empty:2:0 > w.ts || die gen
# hop > n_fft/4 leaves the last (length mod hop) samples under the falling
# tail of the last window only (lib/dsp/stft.h, man/stft.1): 1024/512 on
# 1001 samples is held to 1e-4 there, as torch.istft; the rest to 1e-6.
for p in "2048 512 1e-6" "1024 512 1e-4" "64 16 1e-6" "16 8 1e-6" "16 3 1e-6" "4 2 1e-6" "4 1 1e-6"; do
    set -- $p
    "$BIN/stft" -q -n "$1" --hop "$2" < w.ts > s.ts || die "stft $1/$2"
    "$BIN/istft" -q < s.ts > r.ts || die "istft $1/$2"
    "$C" roundtrip w.ts r.ts "$3" || die "round trip $1/$2"
done
"$G" -k silence mixture:2:3000 > z.ts && "$BIN/stft" -q < z.ts | "$BIN/istft" -q > zr.ts && "$C" roundtrip z.ts zr.ts 0 \
    || die "silence"
"$G" -k sine -r 3 mixture:2:7777 > sn.ts && "$BIN/stft" -q -j 2 < sn.ts | "$BIN/istft" -q -j 2 > snr.ts \
    && "$C" roundtrip sn.ts snr.ts 1e-6 || die "sine, 2 threads"

# the bits do not depend on the threads (channels and frame ranges split)
"$G" -r 1 mono:1:100000 st:2:7001 > th.ts
"$BIN/stft" -q -j 1 < th.ts > th1.ts && "$BIN/stft" -q -j 3 < th.ts | cmp -s - th1.ts || die "stft -j 3 bits"
"$BIN/istft" -q -j 1 < th1.ts > thr1.ts && "$BIN/istft" -q -j 4 < th1.ts | cmp -s - thr1.ts || die "istft -j 4 bits"
"$C" roundtrip th.ts thr1.ts 1e-6 > /dev/null || die "threads round trip"

# against a direct DFT (small sizes: the check is O(N^2) per frame)
"$G" -r 2 mixture:2:900 x:1:33 t:1:3 > d.ts
"$BIN/stft" -q -n 64 -H 16 < d.ts > ds.ts && "$C" dft d.ts ds.ts || die "dft 64/16"
"$BIN/stft" -q -n 256 -H 100 < d.ts > ds.ts && "$C" dft d.ts ds.ts || die "dft 256/100"

# attributes
"$BIN/stft" -q -n 64 -H 16 < w.ts > s.ts
"$C" roundtrip w.ts w.ts 0 > /dev/null
# --only
"$BIN/stft" -q --only vocals,odd < w.ts | "$BIN/istft" -q --only odd > o.ts || die "--only"
"$BIN/istft" -q < o.ts > o2.ts && "$C" roundtrip w.ts o2.ts 1e-6 || die "--only round trip"

# masking: shared masks keep mixture = sum of targets; same seed, same bytes,
# whatever the threads; another seed, other bytes
"$G" -m -r 3 mixture:2:20000 vocals:2:20000 drums:2:20000 > m.ts
"$BIN/stft" -q --freq-masks 2 --time-masks 2 --seed 5 < m.ts > m1.ts || die "masking"
"$C" sum m1.ts || die "masked mixture != sum of masked targets"
"$BIN/stft" -q < m.ts > m0.ts
cmp -s m0.ts m1.ts && die "no cell was masked"
"$BIN/stft" -q --freq-masks 2 --time-masks 2 --seed 5 -j 2 < m.ts | cmp -s - m1.ts || die "masks depend on threads"
"$BIN/stft" -q --freq-masks 2 --time-masks 2 --seed 6 < m.ts | cmp -s - m1.ts && die "seed ignored"
"$BIN/stft" -q --freq-masks 2 --time-masks 2 --mask-prob 0 < m.ts | cmp -s - m0.ts || die "--mask-prob 0 masked something"
"$BIN/stft" -q --freq-masks 3 --mask-each < m.ts > me.ts || die "--mask-each"
"$C" sum me.ts > /dev/null 2>&1 && die "--mask-each should give independent masks"

# errors: usage (2), bad input (1), never a crash
"$BIN/stft" --n-fft 15 < w.ts > /dev/null 2> e.txt; [ $? -eq 2 ] || die "odd n_fft: exit 2"
"$BIN/stft" --hop 0 < w.ts > /dev/null 2>&1; [ $? -eq 2 ] || die "hop 0: exit 2"
"$BIN/stft" --bogus < w.ts > /dev/null 2>&1; [ $? -eq 2 ] || die "unknown option: exit 2"
"$BIN/stft" --help | grep -q -- --freq-masks || die "--help"
"$BIN/istft" --help | grep -q -- --wav-all || die "istft --help"
echo garbage | "$BIN/stft" > /dev/null 2> e.txt; [ $? -eq 1 ] || die "garbage: exit 1"
"$BIN/stft" -q --only empty,nosuch < w.ts > /dev/null || die "--only absent names are skipped"
"$BIN/stft" -q -n 64 -H 16 < w.ts | "$BIN/stft" -q --only odd > /dev/null 2> e.txt; [ $? -eq 1 ] || die "stft twice"
grep -q "tensor 'odd'" e.txt || die "stft of a spectrogram: message names the tensor: $(cat e.txt)"
"$BIN/stft" -q -n 64 -H 60 < w.ts 2> warn.txt | "$BIN/istft" > /dev/null 2> e.txt; [ $? -eq 1 ] || die "hop 60/64 inverted"
grep -q "record 0: tensor 'mixture': n_fft=64 hop=60 cannot be inverted" e.txt || die "message: $(cat e.txt)"
grep -q "istft will refuse" warn.txt || die "stft warns about hop > n_fft/2: $(cat warn.txt)"
exit 0
