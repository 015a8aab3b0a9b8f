#!/bin/sh
# The oracle tool end to end: random complex spectrograms (numpy) -> npy2ts
# -> oracle -> ts2npy, compared with the ideal ratio mask computed in numpy
# (float64), for --power 1 and 2; --mixture; pass-through of other tensors
# and attributes; bad input (a waveform, overlapping stems, a shape
# mismatch, a bad option) gives the documented exit status and message.
set -eu
PYTHON=${PYTHON:-/usr/bin/python3}
T=${TMPDIR:-/tmp}
for t in oracle npy2ts ts2npy; do
  [ -x "$BIN/$t" ] || { echo "FAIL: $BIN/$t not built"; exit 1; }
done
"$PYTHON" -c 'import numpy' 2>/dev/null || { echo "skip: numpy is missing for $PYTHON (make deps installs python3-numpy)"; exit 77; }

mkdir -p "$T/in/000000" "$T/in/000001"
"$PYTHON" - "$T/in" <<'PY'
import sys, json
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
def c(shape, scale=1.0):
    return (scale * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))).astype(np.complex64)
for r, stems in ((0, ["vocals", "other"]), (1, ["vocals", "drums", "bass", "other"])):
    shape = (2, 9, 5)
    refs = {s: c(shape, 1 + i) for i, s in enumerate(stems)}
    refs[stems[0]][0, 3, :] = 0            # a bin where one stem is silent
    for s in stems:
        refs[s][1, 0, 0] = 0               # a cell where every stem is silent
    mix = sum(refs.values()) + c(shape, 0.01)
    np.save("%s/%06d/mixture.npy" % (d, r), mix)
    for s, v in refs.items():
        np.save("%s/%06d/%s.npy" % (d, r, s), v)
    np.save("%s/%06d/extra.npy" % (d, r), np.arange(3, dtype=np.float32))
    json.dump({"track": "t%d" % r, "note": "kept"}, open("%s/%06d/attrs.json" % (d, r), "w"))
PY
"$BIN/npy2ts" "$T/in" > "$T/in.ts"

for p in 1 2; do
  "$BIN/oracle" --quiet --irm --power $p "$T/in.ts" > "$T/irm$p.ts"
  "$BIN/ts2npy" "$T/irm$p" "$T/irm$p.ts"
done
"$BIN/oracle" --quiet --mixture < "$T/in.ts" > "$T/mix.ts"
"$BIN/ts2npy" "$T/mix" "$T/mix.ts"

"$PYTHON" - "$T" <<'PY'
import sys, json, glob, os
import numpy as np
T = sys.argv[1]
for r in range(2):
    src = "%s/in/%06d" % (T, r)
    stems = sorted(os.path.basename(f)[:-4] for f in glob.glob(src + "/*.npy")
                   if os.path.basename(f) not in ("mixture.npy", "extra.npy"))
    X = np.load(src + "/mixture.npy").astype(np.complex128)
    S = {s: np.load("%s/%s.npy" % (src, s)).astype(np.complex128) for s in stems}
    for p in (1, 2):
        out = "%s/irm%d/%06d" % (T, p, r)
        P = {s: np.abs(v) ** p for s, v in S.items()}
        den = 2.0 ** -52 + sum(P.values())
        for s in stems:
            want = P[s] / den * X
            got = np.load("%s/est/%s.npy" % (out, s))
            assert got.dtype == np.complex64 and got.shape == X.shape, (got.dtype, got.shape)
            err = np.abs(got - want).max() / np.abs(X).max()
            assert err < 1e-6, ("irm", p, r, s, err)
        a = json.load(open(out + "/attrs.json"))
        assert a["note"] == "kept" and a["track"] == "t%d" % r and a["oracle"] == "irm%d" % p, a
        assert np.array_equal(np.load(out + "/extra.npy"), np.arange(3, dtype=np.float32))
        assert np.array_equal(np.load(out + "/mixture.npy"), np.load(src + "/mixture.npy"))
        # the silent cell: zero estimates
        for s in stems:
            assert np.load("%s/est/%s.npy" % (out, s))[1, 0, 0] == 0
    for s in stems:
        assert np.array_equal(np.load("%s/mix/%06d/est/%s.npy" % (T, r, s)), np.load(src + "/mixture.npy"))
PY

fail() { echo "FAIL: $*"; exit 1; }
expect() {  # expect STATUS PATTERN CMD...: exit status and a stderr pattern
  st=$1 pat=$2; shift 2
  set +e; "$@" > "$T/out" 2> "$T/err"; got=$?; set -e
  [ "$got" = "$st" ] || fail "$*: exit $got, expected $st ($(cat "$T/err"))"
  grep -q -- "$pat" "$T/err" || fail "$*: message '$(cat "$T/err")' lacks '$pat'"
}
# overlapping stems: accompaniment with other
mkdir -p "$T/ov/000000"
cp "$T/in/000000/"*.npy "$T/ov/000000/"
cp "$T/in/000000/other.npy" "$T/ov/000000/accompaniment.npy"
"$BIN/npy2ts" "$T/ov" > "$T/ov.ts"
expect 1 "partition" "$BIN/oracle" --quiet "$T/ov.ts"
"$BIN/oracle" --quiet --stems vocals,accompaniment "$T/ov.ts" > /dev/null || fail "--stems vocals,accompaniment"
# a stem of another shape
mkdir -p "$T/sh/000000"
cp "$T/in/000000/"*.npy "$T/sh/000000/"
"$PYTHON" -c "import numpy as np; np.save('$T/sh/000000/vocals.npy', np.zeros((2, 9, 4), np.complex64))"
"$BIN/npy2ts" "$T/sh" > "$T/sh.ts"
expect 1 "record 0: tensor 'vocals'" "$BIN/oracle" --quiet "$T/sh.ts"
# a waveform mixture (stft not run)
mkdir -p "$T/wf/000000"
"$PYTHON" -c "import numpy as np; [np.save('$T/wf/000000/%s.npy' % n, np.zeros((2, 100), np.float32)) for n in ('mixture', 'vocals')]"
"$BIN/npy2ts" "$T/wf" > "$T/wf.ts"
expect 1 "tensor 'mixture'.*stft" "$BIN/oracle" --quiet "$T/wf.ts"
# a stem asked for but absent
expect 1 "no tensor 'drums'" "$BIN/oracle" --quiet --stems vocals,drums "$T/in.ts"
# usage errors
expect 2 "power" "$BIN/oracle" --power 0 "$T/in.ts"
expect 2 "stems" "$BIN/oracle" --stems vocals,vocals "$T/in.ts"
# a truncated stream: an error, and no silent success
head -c 300 "$T/in.ts" > "$T/trunc.ts"
expect 1 "trunc.ts" "$BIN/oracle" --quiet "$T/trunc.ts"
echo "ok: oracle IRM1/IRM2/mixture against numpy, pass-through, errors"
