#!/bin/sh
# sdr's command line: help, usage errors, MUSDB layouts with derived
# targets, museval's vocals/accompaniment pairing, padding of short
# estimates, stream records with missing halves, CSV and JSON outputs.
set -eu
S="$BIN/sdr"
GEN="$BUILD/tests/helpers/sdr_gen"
MK="$BUILD/tests/helpers/sdr_stream"
T="$TMPDIR"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$S" --help >"$T/help" || fail "--help"
for o in --json --csv --references --estimates --split --window --hop --threads --quiet --help; do
    grep -q -- "$o" "$T/help" || fail "--help does not list $o"
done
set +e
"$S" --bogus </dev/null >/dev/null 2>"$T/err"; [ $? -eq 2 ] || fail "unknown option: exit 2"
# getopt's message names the tool by its name (not its path) and the option
grep -q "^sdr: unrecognized option '--bogus'" "$T/err" || fail "unknown option message: $(cat "$T/err")"
grep -q "^Try 'sdr --help'" "$T/err" || fail "unknown option: no --help hint"
"$S" -j 0 --bogus2 </dev/null >/dev/null 2>&1; [ $? -eq 2 ] || fail "-j is --threads"
"$S" --references x </dev/null >/dev/null 2>&1; [ $? -eq 2 ] || fail "--references alone: exit 2"
"$S" --threads -3 </dev/null >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad --threads: exit 2"
"$S" -r "$T/nowhere" -e "$T/nowhere" >/dev/null 2>"$T/err"; [ $? -eq 1 ] || fail "missing root: exit 1"
grep -q "nowhere" "$T/err" || fail "missing root: message"
set -e

# MUSDB layout: ROOT/test/song/<stem>.wav, estimates for vocals and
# accompaniment only (accompaniment derived from drums + bass + other)
"$GEN" "$T/g"
mkdir -p "$T/root/test/song" "$T/est/test/song" "$T/root2/test/song"
for s in vocals drums bass other; do cp "$T/g/reference/$s.wav" "$T/root/test/song/"; done
cp "$T/g/estimate/vocals.wav" "$T/est/test/song/vocals.wav"
cp "$T/g/estimate/drums.wav" "$T/est/test/song/accompaniment.wav"
"$S" -q -r "$T/root" -e "$T/est" --json "$T/json" --csv "$T/a.csv" >"$T/table"
[ -f "$T/json/test/song.json" ] || fail "JSON not at DIR/<split>/<track>.json"
grep -q "^  accompaniment" "$T/table" || fail "table lacks accompaniment"
grep -q "^summary: 1 track" "$T/table" || fail "no summary"
# the same with accompaniment.wav written out (float32 sum, same order)
# (plain Python: each float64 sum of two float32 values is exact, so rounding
# it to float32 gives the float32 sum)
"$PYTHON" - "$T/root/test/song" "$T/root2/test/song" <<'PY' || fail "writing accompaniment.wav"
import struct, sys
from array import array
src, dst = sys.argv[1], sys.argv[2]
def rd(p):
    b = open(p, 'rb').read(); i = 12
    while i < len(b):
        cid = b[i:i+4]; sz = struct.unpack('<I', b[i+4:i+8])[0]
        if cid == b'data':
            a = array('f'); a.frombytes(b[i+8:i+8+sz])
            if sys.byteorder != 'little': a.byteswap()
            return b[:i+8], a
        i += 8 + sz + (sz & 1)
    sys.exit(p + ': no data chunk')
hdr, d = rd(src + '/drums.wav'); _, b = rd(src + '/bass.wav'); _, o = rd(src + '/other.wav')
acc = array('f', [x + y for x, y in zip(d, b)])
acc = array('f', [x + y for x, y in zip(acc, o)])
if sys.byteorder != 'little': acc.byteswap()
open(dst + '/accompaniment.wav', 'wb').write(hdr + acc.tobytes())
open(dst + '/vocals.wav', 'wb').write(open(src + '/vocals.wav', 'rb').read())
PY
"$S" -q -r "$T/root2" -e "$T/est" --csv "$T/b.csv" >/dev/null
cmp "$T/a.csv" "$T/b.csv" || fail "derived accompaniment differs from the file"
[ "$(wc -l <"$T/a.csv")" -eq 3 ] || fail "CSV rows"

# museval's grouping: with vocals, drums and accompaniment, vocals is
# scored with accompaniment as a pair; JSON order drums, vocals, accompaniment
cp "$T/g/estimate/drums.wav" "$T/est/test/song/drums.wav"
"$S" -q -r "$T/root" -e "$T/est" --json "$T/json3" --csv "$T/c.csv" >/dev/null
"$PYTHON" -c '
import json, sys
t = json.load(open(sys.argv[1]))["targets"]
assert [x["name"] for x in t] == ["drums", "vocals", "accompaniment"], [x["name"] for x in t]
' "$T/json3/test/song.json" || fail "target order"
grep "vocals" "$T/a.csv" | cut -d, -f2- >"$T/v1"
grep "vocals" "$T/c.csv" | cut -d, -f2- >"$T/v2"
cmp "$T/v1" "$T/v2" || fail "vocals not from the vocals/accompaniment pair"

# --split selects a subset; a missing estimate directory is an error
mkdir -p "$T/root/train/other-song"
cp "$T/g/reference/vocals.wav" "$T/root/train/other-song/"
set +e
"$S" -q -r "$T/root" -e "$T/est" >/dev/null 2>"$T/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "missing estimates" "$T/err" || fail "missing estimates: exit $rc"
"$S" -q -r "$T/root" -e "$T/est" --split test >/dev/null || fail "--split test"

# stream: estimates 2 s long are zero-padded as museval does (the last
# window is then silent: NaN); a stem without reference is skipped with a note
"$MK" "$T/g" song 88200 bass >"$T/s.ts"
"$S" --json "$T/sj" "$T/s.ts" >"$T/stable" 2>"$T/serr"
grep -q "est/bass': no reference" "$T/serr" || fail "no note for est/bass"
"$PYTHON" -c '
import json, math, sys
t = json.load(open(sys.argv[1]))["targets"]
assert [x["name"] for x in t] == ["vocals", "drums", "other"], [x["name"] for x in t]
for x in t:
    m = [f["metrics"]["SDR"] for f in x["frames"]]
    assert len(m) == 3 and math.isnan(m[0]) and not math.isnan(m[1]) and math.isnan(m[2]), m
' "$T/sj/test/song.json" || fail "padding / NaN windows"
# a record without any pair is skipped; no track scored is exit 1
"$MK" "$T/g" song 0 all | "$S" -q --csv - >/dev/null 2>&1 && fail "no pair: expected exit 1"
# bad dtype is a clear error naming record and tensor
"$MK" "$T/g" song >"$T/ok.ts"
printf 'garbage' | "$S" -q >/dev/null 2>"$T/err" && fail "garbage stream accepted"
[ -s "$T/err" ] || fail "garbage stream: no message"
echo ok
