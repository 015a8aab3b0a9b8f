#!/bin/sh
# tfswa-net: --init/--info, separation through the CLI (shapes, pass-through,
# the golden output, chunking), and clear errors with the right exit status.
set -u
cd "$TMPDIR" || exit 1
die() { echo "FAIL: $*" >&2; exit 1; }
N=$BIN/tfswa-net
D=$TOP/tests/data/model

# --help lists every long option
"$N" --help > help.txt || die "--help"
for o in model chunk overlap threads quiet init preset depths dims heads window mlp-ratio n-fft hop rate \
         stems mask seed stats force info train help no-fold-bn bands mask-hidden; do
    grep -q -- "--$o" help.txt || die "--help lacks --$o"
done

# --init / --info
"$N" --init -q -m small.ckpt --n-fft 64 --hop 16 --dims 8,8,16,16 --heads 2 --window 4 --depths 1,1,1,1 \
    --stems vocals,other --seed 3 || die "--init custom"
"$N" --info -m small.ckpt > info.txt || die "--info"
grep -q '^preset  *custom' info.txt && grep -q '^dims  *8,8,16,16' info.txt && grep -q 'stems  *vocals,other' info.txt \
    || die "--info configuration: $(cat info.txt)"
grep -q 'parameters' info.txt && grep -q 'encoder 1' info.txt && grep -q 'GFLOP per second of audio' info.txt \
    || die "--info counts: $(cat info.txt)"
"$N" --init -q -m small.ckpt 2> e.txt; [ $? -eq 1 ] && grep -q 'already exists' e.txt || die "overwrote without --force"
"$N" --init -q --force -m small.ckpt --preset tiny --stems vocals --seed 1 || die "--force"
"$N" --info -m small.ckpt | grep -q '^preset  *tiny' || die "--force did not rewrite"
"$N" --init -q -m t2.ckpt --preset tiny --stems vocals --seed 1 || die "--init tiny"
cmp -s small.ckpt t2.ckpt || die "same configuration and seed, different bytes"
# --stats: specnorm's file into norm.mean / norm.std (std floored at 1e-5)
"$BIN/specnorm" -q -o stats.ts "$D/golden_in.ts" || die "specnorm"
"$N" --init -q -m st.ckpt --n-fft 64 --hop 16 --dims 8,8,16,16 --heads 2 --window 4 --stats stats.ts || die "--stats"
"$PYTHON" - <<'PY' || die "--stats values"
import sys, os
sys.path.insert(0, os.environ["TOP"] + "/examples/python")
import numpy as np, tfswa_stream as ts
_, s = next(ts.read(open("stats.ts", "rb")))
_, c = next(ts.read(open("st.ckpt", "rb")))
assert np.allclose(c["norm.mean"], s["mean"], rtol=1e-6, atol=1e-7)
assert np.allclose(c["norm.std"], np.maximum(s["std"], 1e-5), rtol=1e-6)
PY
"$N" --init -q -m st2.ckpt --preset tiny --stats stats.ts 2> e.txt; [ $? -eq 1 ] && grep -q "stats.ts" e.txt \
    || die "statistics of another n_fft: $(cat e.txt)"
"$N" --init -m x.ckpt --preset huge > /dev/null 2>&1; [ $? -eq 2 ] || die "unknown preset: exit 2"
"$N" --init -m x.ckpt --heads 3 > /dev/null 2>&1; [ $? -eq 2 ] || die "heads not dividing dims: exit 2"
"$N" --init -m x.ckpt --stems a,a > /dev/null 2>&1; [ $? -eq 2 ] || die "duplicate stems: exit 2"
"$N" --init -q -m no/such/dir/x.ckpt --preset tiny 2> e.txt; [ $? -eq 1 ] && grep -q 'x.ckpt' e.txt || die "bad path"
[ -e x.ckpt ] && die "x.ckpt written by a failed --init"
"$N" --train -m x.ckpt < /dev/null > /dev/null 2> e.txt; [ $? -eq 1 ] && grep -q 'x.ckpt' e.txt || die "--train: missing model"
"$N" < /dev/null > /dev/null 2>&1; [ $? -eq 2 ] || die "no -m: exit 2"
"$N" -m small.ckpt --chunk 2 --overlap 2 < /dev/null > /dev/null 2>&1; [ $? -eq 2 ] || die "overlap >= chunk: exit 2"
"$N" --info -m small.ckpt --seed 3 > /dev/null 2>&1; [ $? -eq 2 ] || die "--seed without --init: exit 2"
"$N" --init -m x.ckpt --mask soft > /dev/null 2>&1; [ $? -eq 2 ] || die "unknown --mask: exit 2"
"$N" --init -m x.ckpt --mask residual --stems vocals > /dev/null 2>&1; [ $? -eq 2 ] || die "residual with 1 stem: exit 2"

# --mask residual: the same weights (same seed) as unbounded; the last stem is the rest of the mixture
"$N" --init -q -m res.ckpt --n-fft 64 --hop 16 --dims 8,8,16,16 --heads 2 --window 4 --depths 1,1,1,1 \
    --stems vocals,other --seed 3 --mask residual || die "--init --mask residual"
"$N" --init -q -m unb.ckpt --n-fft 64 --hop 16 --dims 8,8,16,16 --heads 2 --window 4 --depths 1,1,1,1 \
    --stems vocals,other --seed 3 || die "--init unbounded"
"$N" --info -m res.ckpt | grep -q '^mask  *residual' || die "--info: residual mask"
"$N" --info -m unb.ckpt | grep -q '^mask  *unbounded' || die "--info: unbounded mask"
"$N" -q -m res.ckpt --chunk 0.005 --overlap 0.002 "$D/golden_in.ts" > res.ts || die "separate residual"
"$N" -q -m unb.ckpt --chunk 0.005 --overlap 0.002 "$D/golden_in.ts" > unb.ts || die "separate unbounded"
"$PYTHON" - <<'PY' || die "residual outputs"
import os, sys
sys.path.insert(0, os.environ["TOP"] + "/examples/python")
import numpy as np, tfswa_stream as ts
for (a, r), (_, u) in zip(ts.read(open("res.ts", "rb")), ts.read(open("unb.ts", "rb"))):
    x = r["mixture"]
    assert np.array_equal(r["est/vocals"], u["est/vocals"]), "first stem changed"
    assert np.abs(r["est/vocals"] + r["est/other"] - x).max() <= 1e-5 * max(1, np.abs(x).max()), "sum"
    assert np.abs(u["est/vocals"] + u["est/other"] - x).max() > 1e-4 * np.abs(x).max(), "unbounded sums too"
PY

# separation: est/<stem> added with the right shapes, everything else passed through
"$N" -q -m "$D/golden.ckpt" "$D/golden_in.ts" > out.ts || die "separate"
"$BIN/tsinfo" out.ts > out.txt || die "tsinfo"
grep -q 'est/vocals  *c64 \[2, 33, 21\]' out.txt && grep -q 'est/other  *c64 \[2, 33, 5\]' out.txt \
    || die "est shapes: $(cat out.txt)"
"$N" -q -m "$D/golden.ckpt" --chunk 0.005 --overlap 0.002 -j 2 "$D/golden_in.ts" > chunked.ts || die "chunked"
check_outputs() { # golden-dir out.ts chunked.ts
"$PYTHON" - "$@" <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + "/../../../examples/python")
import numpy as np, tfswa_stream as ts
inp = list(ts.read(open(sys.argv[1] + "/golden_in.ts", "rb")))
gold = list(ts.read(open(sys.argv[1] + "/golden_out.ts", "rb")))
out = list(ts.read(open(sys.argv[2], "rb")))
chk = list(ts.read(open(sys.argv[3], "rb")))
assert len(out) == 2 and len(chk) == 2
for (ia, it), (ga, gt), (oa, ot), (ca, ct) in zip(inp, gold, out, chk):
    assert oa == ia, "attributes changed"
    assert np.array_equal(it["mixture"], ot["mixture"]), "mixture changed"
    assert sorted(ot) == ["est/other", "est/vocals", "mixture"], sorted(ot)
    for k in ("est/vocals", "est/other"):
        scale = np.abs(gt[k]).max()
        assert np.abs(ot[k] - gt[k]).max() <= 1e-4 * scale, k
        assert ct[k].shape == gt[k].shape and np.isfinite(ct[k]).all()
        # chunks of 14 frames: each estimate is some chunk's mask times the mixture, blended
        assert np.abs(ct[k]).max() < 100 * scale
PY
}
check_outputs "$D" out.ts chunked.ts || die "outputs"

# the band model (arch band): --init, --info, separation equal to PyTorch's (BandNet), chunking
G=$TOP/tests/data/model-band
"$N" --init -q -m band.ckpt --preset band --n-fft 64 --hop 16 --dims 8 --heads 2 --window 4 --depths 1 \
    --stems vocals,other || die "--init band"
"$N" --info -m band.ckpt > binfo.txt || die "--info band"
grep -q '^arch  *band: 11 bands of 6 x 2, 4 x 4, 1 x 5 bins' binfo.txt && grep -q '^dims  *8$' binfo.txt \
    && grep -q '^  mask head ' binfo.txt || die "--info band: $(cat binfo.txt)"
"$N" --init -q -m band2.ckpt --preset band || die "--init --preset band"
"$N" --info -m band2.ckpt > binfo.txt || die "--info band preset"
grep -q '^arch  *band: 38 bands of 6 x 2, 6 x 4, 6 x 8, 6 x 16, 6 x 32, 6 x 64, 1 x 128, 1 x 141 bins' binfo.txt \
    && grep -q '^FLOPs  *1\.[0-9]* GFLOP per second' binfo.txt || die "--info band preset: $(cat binfo.txt)"
"$N" -q -m "$G/golden.ckpt" "$G/golden_in.ts" > bout.ts || die "separate band"
"$N" -q -m "$G/golden.ckpt" --chunk 0.005 --overlap 0.002 -j 2 "$G/golden_in.ts" > bchunked.ts || die "chunked band"
check_outputs "$G" bout.ts bchunked.ts || die "band outputs"
"$N" --init -q -m band3.ckpt --preset band --n-fft 64 --hop 16 --bands 1,2,30 --mask-hidden 5 --depths 0 || die "--bands"
"$N" --info -m band3.ckpt | grep -q '^arch  *band: 3 bands of 1 x 1, 1 x 2, 1 x 30 bins' || die "--bands: info"
"$N" --init -m x.ckpt --preset band --bands 1,2,3 > /dev/null 2> e.txt; [ $? -eq 2 ] && grep -q "1025" e.txt \
    || die "bands not summing to the bins: $(cat e.txt)"
"$N" --init -m x.ckpt --preset tiny --mask-hidden 8 > /dev/null 2>&1; [ $? -eq 2 ] || die "--mask-hidden with tiny: exit 2"

# errors: name the file, the record and the tensor; exit 1
"$PYTHON" - <<'PY' || die "python"
import sys, os
sys.path.insert(0, os.environ["TOP"] + "/examples/python")
import numpy as np, tfswa_stream as ts
with open("nomix.ts", "wb") as f:
    ts.write(f, [({"track": "a"}, {"vocals": np.zeros((2, 33, 9), np.complex64)})])
with open("mono.ts", "wb") as f:
    ts.write(f, [({"track": "a"}, {"mixture": np.zeros((1, 33, 9), np.complex64)})])
with open("hop.ts", "wb") as f:
    ts.write(f, [({"track": "a", "hop": "32"}, {"mixture": np.zeros((2, 33, 9), np.complex64)})])
with open("empty.ts", "wb") as f:
    ts.write(f, [({"track": "a"}, {"mixture": np.zeros((2, 33, 0), np.complex64)})])
PY
"$N" -q -m "$D/golden.ckpt" nomix.ts > /dev/null 2> e.txt; [ $? -eq 1 ] || die "no mixture: exit 1"
grep -q "nomix.ts: record 0: no tensor 'mixture'" e.txt || die "no mixture: $(cat e.txt)"
"$N" -q -m "$D/golden.ckpt" mono.ts > /dev/null 2> e.txt; [ $? -eq 1 ] || die "mono: exit 1"
grep -q "mono.ts: record 0: tensor 'mixture'" e.txt || die "mono: $(cat e.txt)"
"$N" -q -m "$D/golden.ckpt" hop.ts > /dev/null 2> e.txt; [ $? -eq 1 ] && grep -q "hop=32" e.txt || die "hop: $(cat e.txt)"
"$N" -q -m "$D/golden.ckpt" empty.ts > e.ts || die "zero frames"
"$BIN/tsinfo" e.ts | grep -q 'est/vocals  *c64 \[2, 33, 0\]' || die "zero frames: est shape"
"$N" -q -m t2.ckpt "$D/golden_in.ts" > /dev/null 2> e.txt; [ $? -eq 1 ] && grep -q "c64 (2, 1025, frames)" e.txt \
    || die "model of another n_fft: $(cat e.txt)"
head -c 5000 "$D/golden.ckpt" > trunc.ckpt
"$N" -q -m trunc.ckpt "$D/golden_in.ts" > /dev/null 2> e.txt; [ $? -eq 1 ] && grep -q "trunc.ckpt" e.txt \
    || die "truncated checkpoint: $(cat e.txt)"
"$N" --info -m "$D/golden_in.ts" > /dev/null 2> e.txt; [ $? -eq 1 ] && grep -q "not a tfswa checkpoint" e.txt \
    || die "a stream that is no checkpoint: $(cat e.txt)"
exit 0
