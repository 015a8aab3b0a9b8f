#!/bin/sh
# tfswa-separate: --help and man page, usage errors (exit 2), bad files and
# models (one line naming them, exit 1, nothing written), the output equal
# byte for byte to the pipeline it composes (with and without the Wiener
# filter), an MP3 in and FLAC stems out, --stems, replacing an earlier result, the shipped model found
# next to the program (installed layout) and by TFSWA_MODEL, and SIGTERM in
# the middle: exit 143, no temporary folder, no half-written track, no tool
# left running.
set -u
cd "$TMPDIR"
S="$BIN/tfswa-separate"
M="$TOP/models/vocals-band.ckpt"
fail() { echo "FAIL: $*"; exit 1; }

"$S" --help > help.txt || fail "--help"
grep -q "^Usage: tfswa-separate" help.txt || fail "no usage line"
for o in --model --stems --out --format --wiener-iter --threads --quiet --help; do
    grep -q -- "$o" help.txt || fail "--help does not list $o"
    grep -qF -- "$(echo "$o" | sed 's/-/\\-/g')" "$TOP/man/tfswa-separate.1" || fail "tfswa-separate.1 lacks $o"
done
grep -q 'musdb-slice.*stft.*tfswa-net' "$TOP/man/tfswa-separate.1" || fail "the man page does not show the pipeline"

# input: 3 s stereo and 2 s mono 16-bit WAVs (standard library only)
"$PYTHON" - <<'PY'
import wave, struct, math, random
random.seed(1)
def w(name, ch, secs):
    f = wave.open(name, "wb"); f.setnchannels(ch); f.setsampwidth(2); f.setframerate(44100)
    fr = bytearray()
    for i in range(int(44100 * secs)):
        for c in range(ch):
            v = 0.3 * math.sin(2 * math.pi * (440 + 110 * c) * i / 44100) + 0.1 * (random.random() - 0.5)
            fr += struct.pack("<h", int(32767 * v))
    f.writeframes(bytes(fr)); f.close()
w("song.wav", 2, 3.0)
w("mono one.wav", 1, 2.0)
PY
echo "not audio" > bad.wav

# usage errors: exit 2, nothing written
for bad in "" "--bogus song.wav" "--format aiff song.wav" "--stems drums song.wav" "--wiener-iter x song.wav" \
           "-j many song.wav" "-m"; do
    st=0; "$S" -o u $bad > /dev/null 2> err.txt || st=$?
    [ "$st" = 2 ] || fail "'$bad': exit $st: $(cat err.txt)"
    grep -q "Try 'tfswa-separate --help'" err.txt || fail "'$bad': $(cat err.txt)"
    [ ! -e u ] || fail "'$bad': wrote u/"
done
# bad files and models: one line naming them, exit 1, nothing written
one() { # name expected-message args...
    n=$1 want=$2; shift 2
    st=0; "$S" -q -o o1 "$@" > /dev/null 2> err.txt || st=$?
    [ "$st" = 1 ] || fail "$n: exit $st: $(cat err.txt)"
    [ "$(wc -l < err.txt)" = 1 ] || fail "$n: not one line: $(cat err.txt)"
    grep -q "^tfswa-separate: $want" err.txt || fail "$n: $(cat err.txt)"
    [ ! -d o1 ] || [ -z "$(ls -A o1)" ] || fail "$n: wrote $(ls -A o1)"
}
one "missing file" "nothere.wav: no such file" song.wav nothere.wav
one "not audio" "bad.wav: cannot read audio" song.wav bad.wav
one "missing model" "nomodel.ckpt: no such model file" -m nomodel.ckpt song.wav
one "bad model" "bad.wav: not a usable checkpoint" -m bad.wav song.wav

# the output is the pipeline's, byte for byte
"$S" -q -j 1 -o out song.wav "mono one.wav" || fail "separate: exit $?"
[ "$(cd out && find . -type f | sort | tr '\n' ' ')" = "./mono one/other.wav ./mono one/vocals.wav ./song/other.wav ./song/vocals.wav " ] \
    || fail "files: $(cd out && find . | sort | tr '\n' ' ')"
for f in song "mono one"; do
    "$BIN/musdb-slice" -q "$f.wav" | "$BIN/stft" -q | "$BIN/tfswa-net" -q -j 1 -m "$M" | "$BIN/istft" -q --no-stream --wav ref
    for s in vocals other; do cmp "out/$f/$s.wav" "ref/$f/$s.wav" || fail "$f/$s.wav differs from the pipeline's"; done
done
ls -A out | grep -q '^\.' && fail "temporary folder left in out/: $(ls -A out)"
# an MP3 in, FLAC stems out (issue 15): the same samples as the WAV stems of the same MP3
if command -v ffmpeg > /dev/null; then
    ffmpeg -loglevel error -i song.wav -c:a libmp3lame -b:a 192k song.mp3 || fail "ffmpeg: mp3"
    "$S" -q -j 1 -o outf --format flac song.mp3 || fail "mp3 to flac: exit $?"
    "$S" -q -j 1 -o outm song.mp3 || fail "mp3 to wav: exit $?"
    for s in vocals other; do
        [ "$(head -c 4 "outf/song/$s.flac")" = fLaC ] || fail "outf/song/$s.flac is not FLAC"
        ffmpeg -loglevel error -i "outf/song/$s.flac" -f s16le fl.raw && ffmpeg -loglevel error -i "outm/song/$s.wav" -f s16le wv.raw \
            || fail "decoding $s"
        cmp fl.raw wv.raw || fail "$s: the FLAC stem's samples differ from the WAV stem's"
        rm -f fl.raw wv.raw
    done
fi
# with the Wiener filter
"$S" -q -j 1 -w 1 -o outw song.wav || fail "separate --wiener-iter 1: exit $?"
"$BIN/musdb-slice" -q song.wav | "$BIN/stft" -q | "$BIN/tfswa-net" -q -j 1 -m "$M" | "$BIN/wiener" -q -j 1 -i 1 |
    "$BIN/istft" -q --no-stream --wav refw
for s in vocals other; do cmp "outw/song/$s.wav" "refw/song/$s.wav" || fail "wiener: $s.wav differs from the pipeline's"; done
cmp -s outw/song/vocals.wav out/song/vocals.wav && fail "--wiener-iter 1 changed nothing"
# --stems; an earlier result is replaced (not merged)
"$S" -q -j 1 --stems vocals -o out song.wav || fail "--stems vocals: exit $?"
[ "$(ls out/song)" = "vocals.wav" ] || fail "--stems vocals: $(ls out/song)"
cmp out/song/vocals.wav ref/song/vocals.wav || fail "--stems vocals: content"

# the shipped model next to the program (installed layout), then TFSWA_MODEL
mkdir -p inst/bin inst/share/tfswa/models
cp "$BIN"/* inst/bin/ && cp "$M" inst/share/tfswa/models/
env -u TFSWA_MODEL inst/bin/tfswa-separate -q -j 1 -o out2 song.wav || fail "installed layout: exit $?"
cmp out2/song/vocals.wav ref/song/vocals.wav || fail "installed layout: not the shipped model's output"
rm inst/share/tfswa/models/vocals-band.ckpt
st=0; env -u TFSWA_MODEL inst/bin/tfswa-separate -q -o out3 song.wav 2> err.txt || st=$?
[ "$st" = 1 ] && grep -q "no model" err.txt || fail "no model found: exit $st: $(cat err.txt)"
TFSWA_MODEL="$M" inst/bin/tfswa-separate -q -j 1 -o out3 song.wav || fail "TFSWA_MODEL: exit $?"
cmp out3/song/vocals.wav ref/song/vocals.wav || fail "TFSWA_MODEL: output"

# SIGTERM in the middle of a long file: exit 143, nothing left behind
"$PYTHON" - <<'PY'
import wave
f = wave.open("long.wav", "wb"); f.setnchannels(2); f.setsampwidth(2); f.setframerate(44100)
f.writeframes(bytes(4 * 44100 * 240)); f.close()
PY
"$S" -q -j 1 -o outk song.wav long.wav & sp=$!
i=0
while [ ! -f outk/song/vocals.wav ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i + 1)); done
[ -f outk/song/vocals.wav ] || fail "the first file was not finished in time"
sleep 1
kids=$(ps -o pid= --ppid $sp | tr '\n' ' ')
[ -n "$kids" ] || fail "no tools running for the second file"
kill -TERM $sp
st=0; wait $sp || st=$?
[ "$st" = 143 ] || fail "SIGTERM: exit $st"
[ "$(ls -A outk)" = "song" ] || fail "SIGTERM left: $(ls -A outk)"
for k in $kids; do kill -0 "$k" 2> /dev/null && fail "tool $k still running after SIGTERM"; done
cmp outk/song/vocals.wav ref/song/vocals.wav || fail "the finished file changed"
exit 0
