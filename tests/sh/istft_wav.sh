#!/bin/sh
# istft --wav DIR: which files are written (estimates only when a record
# has any, --wav-all for all), their contents (float and 16-bit), unsafe
# track names kept inside DIR, --no-stream, errors.
set -u
G=$BUILD/tests/helpers/stft_gen
C=$BUILD/tests/helpers/stft_check
cd "$TMPDIR" || exit 1
die() { echo "FAIL: $*" >&2; exit 1; }

# references only: every waveform as DIR/TRACK/NAME.wav
"$G" -k sine -r 2 mixture:2:5000 vocals:2:5000 > ref.ts
"$BIN/stft" -q < ref.ts | "$BIN/istft" -q --float --wav out > r.ts || die "istft --wav"
for t in track-0 track-1; do
    for s in mixture vocals; do [ -f "out/$t/$s.wav" ] || die "out/$t/$s.wav missing"; done
done
"$C" wav out/track-1/vocals.wav ref.ts 1 vocals 1e-6 || die "float wav contents"
"$C" roundtrip ref.ts r.ts 1e-6 > /dev/null || die "the stream still comes out"

# estimates present: only est/ written, as STEM.wav; --wav-all adds ref/
"$G" -k sine -t 'a/../b c' mixture:2:3000 vocals:2:3000 est/vocals:2:3000 est/drums:1:3000 > est.ts
"$BIN/stft" -q < est.ts | "$BIN/istft" -q --wav out2 --no-stream > nothing.ts || die "istft --no-stream"
[ -s nothing.ts ] && die "--no-stream wrote a stream"
ls -R out2 > list.txt
[ -f "out2/a_.._b c/vocals.wav" ] && [ -f "out2/a_.._b c/drums.wav" ] || die "estimates: $(cat list.txt)"
[ -f "out2/a_.._b c/mixture.wav" ] && die "reference written without --wav-all"
[ "$(find out2 -name '*.wav' | wc -l)" -eq 2 ] || die "unexpected files: $(cat list.txt)"
"$C" wav "out2/a_.._b c/drums.wav" est.ts 0 est/drums 4e-5 || die "16-bit contents"
"$BIN/stft" -q < est.ts | "$BIN/istft" -q --wav out3 --wav-all > /dev/null || die "--wav-all"
for f in vocals drums ref/mixture ref/vocals; do [ -f "out3/a_.._b c/$f.wav" ] || die "--wav-all: $f"; done
[ "$(find . -name '*.wav' | grep -c -v '^./out')" -eq 0 ] || die "a file escaped DIR"
# 16-bit PCM file size: 44-byte header + 2 bytes per sample and channel
sz=$(wc -c < "out2/a_.._b c/vocals.wav")
[ "$sz" -ge $((2 * 2 * 3000)) ] && [ "$sz" -le $((2 * 2 * 3000 + 100)) ] || die "16-bit size $sz"

# errors
"$BIN/istft" --wav-all < /dev/null > /dev/null 2>&1; [ $? -eq 2 ] || die "--wav-all without --wav"
echo junk | "$BIN/istft" > /dev/null 2>&1; [ $? -eq 1 ] || die "junk: exit 1"
"$BIN/stft" -q -n 64 -H 16 < ref.ts | "$BIN/istft" -q --only mixture,vocals --wav /proc/nonexistent/x > /dev/null 2> e.txt
[ $? -eq 1 ] || die "unwritable --wav: exit 1"
exit 0
