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
         stems mask seed stats force info train help no-fold-bn; do
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
check_golden() { # golden-dir out.ts
"$PYTHON" - "$@" <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + "/../../../examples/python")
import numpy as np, tfswa_stream as ts
inp = list(ts.read(open(sys.argv[1] + "/golden_in.ts", "rb")))
gold = list(ts.read(open(sys.argv[1] + "/golden_out.ts", "rb")))
out = list(ts.read(open(sys.argv[2], "rb")))
assert len(out) == 2
for (ia, it), (ga, gt), (oa, ot) in zip(inp, gold, out):
    assert oa == ia, "attributes changed"
    assert np.array_equal(it["mixture"], ot["mixture"]), "mixture changed"
    assert sorted(ot) == ["est/other", "est/vocals", "mixture"], sorted(ot)
    for k in ("est/vocals", "est/other"):
        scale = np.abs(gt[k]).max()
        assert np.abs(ot[k] - gt[k]).max() <= 1e-4 * scale, k
PY
}
check_golden "$D" out.ts || die "outputs"

# chunked separation. It cannot equal the whole-track result, anywhere: time
# attention makes every frame of a chunk depend on the whole chunk, so a
# frame's estimate changes with its chunk's extent, not only near seams. So
# the reference is rebuilt here from the plan and crossfade that separate.h
# and tfswa-net(1) specify: each chunk's frames are cut out as a record of
# their own and separated in one pass (a track no longer than a chunk is one
# pass of the network on exactly those frames), and the chunks' estimates are
# blended with the linear ramps in float64. tfswa-net blends in float32, so
# they agree to float32 rounding of a weighted mean of a few terms: 1e-5 of
# the largest value (measured: 6e-8; a ramp off by half a frame moved values
# by 1e-2 of it, a chunk one frame off by 0.28). Three plans: 2 chunks
# (14 frames, overlap 6, ramps of 6), 3 chunks (10 frames, ramps of 3), and
# 3 chunks of 8 without overlap (all weights 1, averaged where the evenly
# spaced chunks still overlap). The 5-frame record is one chunk: exactly the
# whole-track result.
check_chunked() { # golden-dir whole.ts: the golden model of golden-dir, whole.ts its unchunked output
"$PYTHON" - "$N" "$@" <<'PY'
import math, os, subprocess, sys
sys.path.insert(0, os.environ["TOP"] + "/examples/python")
import numpy as np, tfswa_stream as ts
net, d, whole_ts = sys.argv[1], sys.argv[2], sys.argv[3]
fps = 44100 / 16  # the golden model's rate and hop
inp = list(ts.read(open(d + "/golden_in.ts", "rb")))
whole = list(ts.read(open(whole_ts, "rb")))

def plan(T, L, O):  # separate.h: starts and length of the chunks
    if T <= L:
        return [0], T
    n = max(2, -(-(T - O) // (L - O)))
    return [math.floor(k * (T - L) / (n - 1) + 0.5) for k in range(n)], L

def weight(k, n, L, R, j):  # separate.h: 1, with linear ramps of R frames over the overlaps
    w = 1.0
    if R > 0 and k > 0 and j < R:
        w = (j + 0.5) / R
    if R > 0 and k < n - 1 and j >= L - R:
        w = min(w, (L - j - 0.5) / R)
    return w

def run(args, src, dst):
    with open(dst, "wb") as f:
        subprocess.run([net, "-q", "-m", d + "/golden.ckpt", "-j", "2"] + args + [src], stdout=f, check=True)
    return list(ts.read(open(dst, "rb")))

for chunk, overlap, want_n in ((0.005, 0.002, 2), (0.0035, 0.001, 3), (0.003, 0, 3)):
    L = max(8, math.floor(chunk * fps + 0.5))
    O = min(math.floor(overlap * fps + 0.5), L - 1)
    R = min(O, L // 2)
    chk = run(["--chunk", str(chunk), "--overlap", str(overlap)], d + "/golden_in.ts", "chunked.ts")
    pieces = []
    for a, t in inp:
        starts, ln = plan(t["mixture"].shape[2], L, O)
        pieces += [(a, {"mixture": t["mixture"][:, :, s:s + ln]}) for s in starts]
    with open("pieces.ts", "wb") as f:
        ts.write(f, pieces)
    alone = iter(run([], "pieces.ts", "pieces-out.ts"))  # default chunk: 6 s, one pass per piece
    for (a, t), (_, c), (_, w) in zip(inp, chk, whole):
        T = t["mixture"].shape[2]
        starts, ln = plan(T, L, O)
        assert T <= L or len(starts) == want_n, (chunk, starts)
        parts = [next(alone)[1] for _ in starts]
        for k in ("est/vocals", "est/other"):
            num = np.zeros(c[k].shape, np.complex128)
            den = np.zeros(T)
            for i, (s, p) in enumerate(zip(starts, parts)):
                wt = np.array([weight(i, len(starts), ln, R, j) for j in range(ln)])
                num[:, :, s:s + ln] += wt * p[k]
                den[s:s + ln] += wt
            ref = num / den
            scale = np.abs(ref).max()
            err = np.abs(c[k] - ref).max()
            assert c[k].shape == w[k].shape and err <= 1e-5 * scale, (chunk, a["track"], k, err / scale)
            # not vacuous: chunking does change the estimates of the longer record
            change = np.abs(c[k] - w[k]).max()
            assert (change > 1e-2 * scale) if T > L else (change == 0), (chunk, a["track"], k, change / scale)
PY
}
check_chunked "$D" out.ts || die "chunked outputs"

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
check_golden "$G" bout.ts || die "band outputs"
check_chunked "$G" bout.ts || die "band chunked outputs"
# features logmag: the same against BandNet with the log magnitudes
GL=$TOP/tests/data/model-band-logmag
"$N" --info -m "$GL/golden.ckpt" | grep -q '^features  *logmag' || die "--info: features logmag"
"$N" -q -m "$GL/golden.ckpt" "$GL/golden_in.ts" > blout.ts || die "separate band logmag"
check_golden "$GL" blout.ts || die "band logmag outputs"
check_chunked "$GL" blout.ts || die "band logmag chunked outputs"
"$N" --init -m x.ckpt --preset seed --features logmag > /dev/null 2> e.txt; [ $? -eq 2 ] \
    && grep -q -- "--features" e.txt || die "--features with a U-Net: $(cat e.txt)"
"$N" --init -m x.ckpt --preset band --features loud > /dev/null 2> e.txt; [ $? -eq 2 ] \
    && grep -q "loud" e.txt || die "--features loud: $(cat e.txt)"
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
