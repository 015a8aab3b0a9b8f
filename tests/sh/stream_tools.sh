#!/bin/sh
# tsinfo, ts2npy, npy2ts as Unix tools: --help, usage errors, closed pipes
# (quiet, status 0), statistics checked against numpy, refusals (non-empty
# folder, binary to a terminal), errors naming file and record, Fortran-order
# .npy files.
set -eu
cd "$TMPDIR"
G="$TOP/formats/golden"
GEN="$BUILD/tests/helpers/tsgen"
fail() { echo "FAIL: $*"; exit 1; }

for t in tsinfo ts2npy npy2ts; do
    "$BIN/$t" --help > help.txt || fail "$t --help"
    grep -q "^Usage: $t" help.txt || fail "$t --help: no usage line"
    grep -q -- "--help" help.txt || fail "$t --help does not list --help"
    st=0; "$BIN/$t" --bogus > /dev/null 2> err.txt || st=$?
    [ "$st" = 2 ] || fail "$t --bogus: exit $st"
    grep -q "Try '$t --help'" err.txt || fail "$t: usage error text"
    [ -f "$TOP/man/$t.1" ] || fail "no man page for $t"
done
for o in brief json; do grep -qF -- "\\-\\-$o" "$TOP/man/tsinfo.1" || fail "tsinfo.1 lacks --$o"; done
grep -qF -- '\-\-force' "$TOP/man/ts2npy.1" || fail "ts2npy.1 lacks --force"
for o in zlib level; do grep -qF -- "\\-\\-$o" "$TOP/man/npy2ts.1" || fail "npy2ts.1 lacks --$o"; done

# A closed downstream pipe ends every tool quietly with status 0.
pipe3() { # producer-command consumer-command
    ( sh -c "$1" 2> p.err; echo $? > p.rc ) | ( sh -c "$2" 2> c.err; echo $? > c.rc ) | head -n 1 > out.txt
    [ "$(cat p.rc)" = 0 ] && [ "$(cat c.rc)" = 0 ] || fail "pipe '$1 | $2 | head -1': exit $(cat p.rc) $(cat c.rc)"
    [ ! -s p.err ] && [ ! -s c.err ] || fail "pipe '$1 | $2': stderr: $(cat p.err c.err)"
    [ -s out.txt ] || fail "pipe '$1 | $2': no output"
}
pipe3 "'$GEN' --endless --bytes 65536" "'$BIN/tsinfo'"
pipe3 "'$GEN' --endless --bytes 4" "'$BIN/tsinfo' --brief"
grep -q '^record 0: x f32\[1\]; index=0$' out.txt || fail "tsinfo --brief line: $(cat out.txt)"
pipe3 "'$GEN' --endless --bytes 400" "'$BIN/tsinfo' --json"
pipe3 "'$BIN/npy2ts' '$G/mixed'" "cat"
# npy2ts into a pipe closed at once
( "$BIN/npy2ts" "$G/mixed" 2> p.err; echo $? > p.rc ) | true
[ "$(cat p.rc)" = 0 ] && [ ! -s p.err ] || fail "npy2ts | true: exit $(cat p.rc), $(cat p.err)"

# Statistics against numpy (|z| for complex tensors).
"$BIN/tsinfo" --json "$G/mixed.ts" > info.jsonl
"$BIN/tsinfo" "$G/mixed.ts" > info.txt
grep -q '^3 records$' info.txt || fail "tsinfo summary line"
grep -q '^  est/c64  c64 \[1, 1, 1, 1\]  |z| min ' info.txt || fail "tsinfo text format: $(head -20 info.txt)"
"$PYTHON" - "$TOP" "$G" <<'PY'
import json, math, os, sys
import numpy as np
sys.path.insert(0, os.path.join(sys.argv[1], "examples", "python"))
import tfswa_stream as ts
lines = [json.loads(l) for l in open("info.jsonl")]
recs = list(ts.read(open(os.path.join(sys.argv[2], "mixed.ts"), "rb"), with_compression=True))
assert len(lines) == len(recs) == 3
for i, (j, (attrs, tensors, zipped)) in enumerate(zip(lines, recs)):
    assert j["record"] == i and j["attrs"] == attrs, (j["attrs"], attrs)
    assert [t["name"] for t in j["tensors"]] == list(tensors)
    for t in j["tensors"]:
        a = tensors[t["name"]]
        assert t["dtype"] == {"float32": "f32", "float64": "f64", "complex64": "c64", "complex128": "c128",
                              "int16": "i16", "int32": "i32", "int64": "i64", "uint8": "u8"}[str(a.dtype)]
        assert t["shape"] == list(a.shape) and t["bytes"] == a.nbytes
        assert t["compression"] == ("zlib" if t["name"] in zipped else "raw")
        v = np.abs(a.astype(np.complex128)).ravel() if a.dtype.kind == "c" else a.astype(np.float64).ravel()
        assert t["count"] == v.size
        if v.size == 0:
            assert t["min"] is None and t["rms"] is None
            continue
        want = [v.min(), v.max(), v.mean(), math.sqrt((v * v).mean())]
        got = [t["min"], t["max"], t["mean"], t["rms"]]
        for w, g in zip(want, got):
            assert abs(w - g) <= 1e-12 * max(1.0, abs(w)), (t["name"], want, got)
PY

# Errors name the file and the record; status 1.
st=0; "$BIN/tsinfo" "$G/mixed.ts" missing.ts > /dev/null 2> err.txt || st=$?
[ "$st" = 1 ] && grep -q '^tsinfo: missing.ts: No such file or directory$' err.txt || fail "missing file: $st $(cat err.txt)"
st=0; "$BIN/tsinfo" < /dev/null > /dev/null 2> err.txt || st=$?
[ "$st" = 1 ] && grep -q '^tsinfo: stdin: stream header: empty input' err.txt || fail "empty input: $(cat err.txt)"
head -c 1000 "$G/mixed.ts" > cut.ts
st=0; "$BIN/tsinfo" --brief cut.ts > out.txt 2> err.txt || st=$?
[ "$st" = 1 ] && grep -q '^tsinfo: cut.ts: record 1: ' err.txt || fail "truncated: $(cat err.txt)"
grep -q '^record 0:' out.txt || fail "the intact record 0 is reported before the error"
# Two files, and two concatenated streams in one file: records are counted per file.
cat "$G/mixed.ts" "$G/mixed.ts" > two.ts
"$BIN/tsinfo" --brief two.ts "$G/mixed.ts" > out.txt
[ "$(grep -c '^two.ts: record' out.txt)" = 6 ] && grep -q '^two.ts: record 5:' out.txt || fail "concatenated: $(cat out.txt)"

# ts2npy refuses a non-empty folder unless --force; leaves nothing behind on damage.
mkdir full && touch full/keep
st=0; "$BIN/ts2npy" full "$G/mixed.ts" 2> err.txt || st=$?
[ "$st" = 1 ] && grep -q 'not empty (use --force' err.txt || fail "non-empty folder: $(cat err.txt)"
"$BIN/ts2npy" --force full "$G/mixed.ts"
"$BIN/ts2npy" --force full "$G/mixed.ts"
[ -f full/keep ] && [ -f full/000002/attrs.json ] || fail "--force"
st=0; "$BIN/ts2npy" part cut.ts 2> err.txt || st=$?
[ "$st" = 1 ] && [ -d part/000000 ] && [ "$(ls -A part)" = 000000 ] || fail "partial record left behind: $(ls -A part)"
touch afile
st=0; "$BIN/ts2npy" afile "$G/mixed.ts" 2> err.txt || st=$?
[ "$st" = 1 ] || fail "ts2npy into a file"
st=0; "$BIN/ts2npy" 2> err.txt || st=$?
[ "$st" = 2 ] || fail "ts2npy without DIR: $st"

# Fortran-order .npy files (numpy's bytes, tests/data/npy/make.py) pack into
# the same stream as the C-order files of the same arrays, with and without zlib.
N="$TOP/tests/data/npy"
cmp -s "$N/c/000000/f32.npy" "$N/fortran/000000/f32.npy" && fail "the golden f32.npy pair is identical"
for z in "" --zlib; do
    "$BIN/npy2ts" $z "$N/c" > c.ts || fail "npy2ts $z c"
    "$BIN/npy2ts" $z "$N/fortran" > f.ts || fail "npy2ts $z fortran"
    cmp c.ts f.ts || fail "npy2ts $z: a Fortran-order file packs differently from its C-order twin"
done
"$BIN/tsinfo" --brief f.ts | grep -q 'f32 f32\[2,3,4\]' || fail "tsinfo of the Fortran pack: $("$BIN/tsinfo" --brief f.ts)"

# TFSWA_MAX_TENSOR_BYTES as every stream reader takes it: a header claiming
# 2 TiB is refused by the limit, and "-1" (not a size) leaves the default.
mkdir -p huge/000000
dict="{'descr': '<f4', 'fortran_order': False, 'shape': (549755813888,), }"
{ printf '\223NUMPY\001\000'; printf "\\$(printf %03o ${#dict})\\000"; printf '%s' "$dict"; } > huge/000000/x.npy
for v in "" -1 abc 1000; do
    st=0; TFSWA_MAX_TENSOR_BYTES=$v "$BIN/npy2ts" huge > /dev/null 2> err.txt || st=$?
    [ "$st" = 1 ] && grep -q "^npy2ts: huge/000000/x.npy: larger than the tensor size limit of $([ "$v" = 1000 ] && echo 1000 || echo 8589934592) bytes" err.txt ||
        fail "TFSWA_MAX_TENSOR_BYTES='$v': exit $st, $(cat err.txt)"
done

# Binary output to a terminal is refused (when `script` can give us one).
if command -v script > /dev/null 2>&1 && script -qec tty /dev/null < /dev/null 2>&1 | grep -q '^/dev/'; then
    script -qec "'$BIN/npy2ts' '$G/mixed'; echo rc=\$?" /dev/null > tty.txt 2>&1 < /dev/null || true
    grep -q 'refusing to write a binary tensor stream to a terminal' tty.txt && grep -q 'rc=2' tty.txt ||
        fail "terminal refusal: $(cat tty.txt)"
    script -qec "'$BIN/tsinfo'; echo rc=\$?" /dev/null > tty.txt 2>&1 < /dev/null || true
    grep -q 'standard input is a terminal' tty.txt && grep -q 'rc=2' tty.txt || fail "tty stdin: $(cat tty.txt)"
fi
echo ok
