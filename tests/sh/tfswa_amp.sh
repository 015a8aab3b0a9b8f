#!/bin/sh
# tfswa-net --amp (bf16 matrix products of the linear layers): separation and
# --train run; the estimates differ from float32 (the rounding is in effect)
# but stay close (SNR against float32 above 30 dB); --help says which path
# runs; a CPU without AVX512_BF16 gets one note on stderr saying the portable
# path runs, one with it none; --amp with --init is a usage error.
# Small: a custom model (16 channels, n_fft 256) on 0.15 s examples.
set -eu
cd "$TMPDIR"
die() { echo "FAIL: $*" >&2; exit 1; }
N=$BIN/tfswa-net
"$N" --help | grep -q -- '--amp' || die "--help lacks --amp"
"$N" --help | grep -A1 -- '--amp' | grep -q 'here: ' || die "--help does not say which bf16 path runs"
"$N" --train --help | grep -q -- '--amp' || die "--train --help lacks --amp"
"$BUILD/tests/helpers/musdb_fixture" tree root 2
"$BIN/musdb-slice" --random --segment 0.15 --count 4 --seed 5 -S vocals,other root | "$BIN/stft" -n 256 -H 64 > train.ts
"$N" --init -q -m m.ckpt --preset tiny --dims 16,16,32,32 --heads 2 --window 4 --n-fft 256 --hop 64 \
    --stems vocals,other --seed 1

"$N" -q -j 1 -m m.ckpt train.ts > f32.ts 2> e32.txt || die "separation: $(cat e32.txt)"
"$N" -q -j 1 -m m.ckpt --amp train.ts > amp.ts 2> eamp.txt || die "separation --amp: $(cat eamp.txt)"
if grep -qw avx512_bf16 /proc/cpuinfo; then
    [ ! -s eamp.txt ] || die "--amp on a CPU with AVX512_BF16 printed: $(cat eamp.txt)"
else
    [ "$(grep -c 'portable' eamp.txt)" = 1 ] || die "--amp without AVX512_BF16: expected one note, got: $(cat eamp.txt)"
fi
"$PYTHON" - <<'PY' || die "--amp estimates"
import os, sys
sys.path.insert(0, os.environ["TOP"] + "/examples/python")
import numpy as np, tfswa_stream as ts
a = list(ts.read(open("f32.ts", "rb")))
b = list(ts.read(open("amp.ts", "rb")))
assert len(a) == len(b) == 4
differ = False
for (_, x), (_, y) in zip(a, b):
    for k in ("est/vocals", "est/other"):
        r, e = x[k].astype(np.complex128), y[k].astype(np.complex128)
        assert r.shape == e.shape
        snr = 10 * np.log10(np.sum(abs(r) ** 2) / max(np.sum(abs(r - e) ** 2), 1e-300))
        assert snr > 30, (k, snr)
        differ |= not np.array_equal(x[k], y[k])
assert differ, "--amp gave the float32 estimates bit for bit: no bf16 rounding"
PY

cp m.ckpt t.ckpt
"$N" --train -q -j 1 --amp --batch-size 2 --steps 2 --save-every 0 -m t.ckpt train.ts 2> et.txt || die "--train --amp: $(cat et.txt)"
"$BIN/tsinfo" t.ckpt | grep -q 'train_step = 2' || die "--train --amp: no step 2 in the checkpoint"

rc=0
"$N" --init -q --amp -m x.ckpt --preset tiny > /dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || die "--init --amp: exit $rc, not 2"
exit 0
