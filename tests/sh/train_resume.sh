#!/bin/sh
# tfswa-net --train: a run killed with SIGKILL after a checkpoint and resumed
# with --resume on the same stream ends with exactly the weights (the whole
# checkpoint file, byte for byte) of an uninterrupted run; logs are written
# (CSV, TensorBoard events with valid CRC-32C, checked in Python), with the
# validation baseline of the mixture checked against numpy; the best model by
# loss and by SDR (--best-by); SIGTERM
# saves and exits 143; --resume without training state is refused; an
# abbreviation (--trai) trains as --train does; a log on a full disk fails
# the run with the log's name.
# Small: a custom model (8 channels, n_fft 256) on 0.15 s examples.
set -eu
NET=${TRAIN_CMD:-$BIN/tfswa-net}
cd "$TMPDIR"
"$NET" --train --help > help.txt || { echo "tfswa-net --train --help failed" >&2; exit 1; }
grep -q -- '--resume' help.txt || { echo "tfswa-net --train --help does not list --resume" >&2; exit 1; }
"$BUILD/tests/helpers/musdb_fixture" tree root 2
"$BIN/musdb-slice" --random --segment 0.15 --count 24 --seed 5 -S vocals,other root | "$BIN/stft" -n 256 -H 64 > train.ts
"$BIN/musdb-slice" --split test --segment 0.15 --count 2 -S vocals,other root | "$BIN/stft" -n 256 -H 64 > valid.ts
"$BIN/tfswa-net" --init -m init.ckpt --preset tiny --dims 8,8,8,8 --heads 2 --window 4 --mlp-ratio 2 \
    --n-fft 256 --hop 64 --stems vocals,other --seed 1 2>/dev/null
ARGS="--train --batch-size 2 --steps 8 --save-every 2 --lr 3e-3 -j 1 -q"

# refused: --resume on a checkpoint without training state
cp init.ckpt x.ckpt
if "$NET" $ARGS --resume -m x.ckpt train.ts 2>err.txt; then echo "resume without state accepted" >&2; exit 1; fi
grep -q "no training state" err.txt || { cat err.txt >&2; exit 1; }

# uninterrupted
cp init.ckpt a.ckpt
"$NET" $ARGS -m a.ckpt train.ts

# killed with SIGKILL once a checkpoint of step >= 2 exists, then resumed
cp init.ckpt b.ckpt
"$NET" $ARGS -m b.ckpt train.ts &
pid=$!
i=0
while :; do
    s=$("$BIN/tsinfo" b.ckpt 2>/dev/null | sed -n 's/^ *@train_step = //p' | head -n 1)
    [ -n "$s" ] && [ "$s" -ge 2 ] && break
    i=$((i + 1))
    [ $i -lt 6000 ] || { echo "no checkpoint after 600 s" >&2; kill -9 $pid; exit 1; }
    sleep 0.1
done
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
echo "killed after checkpoint of step $s" >&2
"$NET" $ARGS --resume -m b.ckpt train.ts
cmp a.ckpt b.ckpt || { echo "resumed run differs from the uninterrupted one" >&2; exit 1; }

# --ema: the weights' moving average. Two 1-step sittings (a stream of one
# batch each: the run ends with the stream) give the raw weights w1, w2; one
# --ema run over both streams must hold w2 as train/weights and, as the
# model's weights, the average computed here from init, w1, w2 with the ramped
# decay min(D, (1 + n) / (10 + n)) (buffers, such as BatchNorm statistics,
# are not averaged); the same run in two sittings with --resume
# ends byte-identical; .best and validation use the average.
"$BIN/musdb-slice" --random --segment 0.15 --count 2 --seed 11 -S vocals,other root | "$BIN/stft" -n 256 -H 64 > s1.ts
"$BIN/musdb-slice" --random --segment 0.15 --count 2 --seed 12 -S vocals,other root | "$BIN/stft" -n 256 -H 64 > s2.ts
EARGS="--train --batch-size 2 --steps 2 --lr 3e-3 -j 1 -q"
cp init.ckpt r.ckpt
"$NET" $EARGS -m r.ckpt s1.ts 2>/dev/null
cp r.ckpt w1.ckpt
"$NET" $EARGS --resume -m r.ckpt s1.ts s2.ts 2>/dev/null
cp init.ckpt e.ckpt
"$NET" $EARGS --ema 0.5 -m e.ckpt --valid valid.ts s1.ts s2.ts
cp init.ckpt k.ckpt
"$NET" $EARGS --ema 0.5 -m k.ckpt --valid valid.ts s1.ts
"$NET" $EARGS --ema 0.5 --resume -m k.ckpt --valid valid.ts s1.ts s2.ts
cmp e.ckpt k.ckpt || { echo "--ema: resumed run differs from the uninterrupted one" >&2; exit 1; }
"$PYTHON" - <<'PY' || { echo "--ema: the average is wrong" >&2; exit 1; }
import os, sys
sys.path.insert(0, os.environ["TOP"] + "/examples/python")
import numpy as np, tfswa_stream as ts
ck = lambda p: next(ts.read(open(p, "rb")))
_, w0 = ck("init.ckpt")
_, w1 = ck("w1.ckpt")
_, w2 = ck("r.ckpt")
ea, e = ck("e.ckpt")
_, best = ck("e.ckpt.best")
assert ea["train_ema"] == "0.5", ea.get("train_ema")
raw = e["train/weights"]
flat = lambda w: np.concatenate([w[k].ravel() for k in w if not k.startswith(("optim/", "train/", "norm."))
                                 and "running" not in k])
# train/weights is the parameters in layout order: the same values as the raw run's
assert np.array_equal(np.sort(raw), np.sort(flat(w2))), "train/weights != the raw weights"
moved = 0
for k in w2:
    if k.startswith(("optim/", "train/")) or "running_" in k or k in ("norm.mean", "norm.std"):
        assert np.array_equal(e[k], w2[k]) or k.startswith(("optim/", "train/")), k  # buffers: as they are
        continue
    avg = w0[k].astype(np.float64)
    for n, w in ((1, w1[k]), (2, w2[k])):
        a = 1 - min(0.5, (1 + n) / (10 + n))
        avg = avg + a * (w.astype(np.float64) - avg)
    assert np.allclose(e[k], avg, rtol=1e-5, atol=1e-6), k
    moved += not np.array_equal(e[k], w2[k])
assert moved > 0, "the average equals the raw weights"
# the best model (validated before the first step and after each) is an average too, not the raw weights
assert any(not np.array_equal(best[k], w2[k]) for k in w2 if not k.startswith(("optim/", "train/"))), "best"
PY

# an abbreviation of --train, as getopt_long takes it, is --train
cp init.ckpt t.ckpt
"$NET" $(echo "$ARGS" | sed 's/--train/--trai/') -m t.ckpt train.ts
cmp a.ckpt t.ckpt || { echo "--trai trained differently from --train" >&2; exit 1; }

# a log that cannot be written (a full disk: /dev/full) fails the run and says which
if [ -w /dev/full ]; then
    mkdir full && ln -s /dev/full full/train.csv
    cp init.ckpt f.ckpt
    rc=0; "$NET" $ARGS --steps 2 --log-every 1 --log-dir full -m f.ckpt train.ts 2>err.txt || rc=$?
    [ $rc = 1 ] && grep -q "full/train.csv: No space left on device" err.txt ||
        { echo "log on a full disk: exit $rc, $(cat err.txt)" >&2; exit 1; }
fi

# logs, validation, the best model
cp init.ckpt l.ckpt
"$NET" $ARGS -m l.ckpt --log-dir logs --log-every 1 --valid valid.ts --epoch-size 8 train.ts
test -f l.ckpt.best
# CSV lines and TensorBoard records with valid CRC-32C
test "$(wc -l < logs/train.csv)" -eq 9
head -n 1 logs/train.csv | grep -q '^step,epoch,examples,lr,grad_norm,loss,loss/vocals,loss/other,time,cpu$'
head -n 1 logs/valid.csv | grep -q '^step,epoch,examples,loss,sdr/vocals,sdr/other,time,cpu$'
# validation before the first step (step 0: the untrained model), then after each of the 2 epochs
test "$(wc -l < logs/valid.csv)" -eq 4
sed -n 2p logs/valid.csv | grep -q '^0,0,0,'
sed -n 3p logs/valid.csv | grep -q '^4,1,8,'
# time and cpu (the last two columns) count from the sitting's start and grow
awk -F, 'NR > 1 { if ($(NF-1) < t || $NF < c) exit 1; t = $(NF-1); c = $NF }' logs/valid.csv \
    || { echo "valid.csv: time or cpu decreasing within a sitting" >&2; cat logs/valid.csv >&2; exit 1; }
# the best model: by the lowest validation loss (default), or with --best-by sdr by the
# highest mean SDR over stems (validation every 2 steps here, so the two can differ)
cp init.ckpt s.ckpt
"$NET" $ARGS -m s.ckpt --log-dir slogs --valid valid.ts --epoch-size 4 --best-by sdr train.ts
if "$NET" $ARGS -m s.ckpt --best-by snr train.ts 2>err.txt; then echo "--best-by snr accepted" >&2; exit 1; fi
grep -q -- "--best-by" err.txt || { cat err.txt >&2; exit 1; }
"$BIN/tsinfo" l.ckpt.best > lbest.txt
"$BIN/tsinfo" s.ckpt.best > sbest.txt
"$PYTHON" - logs/valid.csv lbest.txt slogs/valid.csv sbest.txt <<'EOF'
import csv, re, sys
def rows(path):
    return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(open(path))]
def attrs(path):
    return dict(re.findall(r"@(\w+) = (\S+)", open(path).read()))
lr, la = rows(sys.argv[1]), attrs(sys.argv[2])
best = min(lr, key=lambda r: r["loss"])
assert int(la["train_best_step"]) == best["step"], (la, best)
assert abs(float(la["train_best_valid_loss"]) - best["loss"]) < 1e-6 * best["loss"], (la, best)
sr, sa = rows(sys.argv[3]), attrs(sys.argv[4])
mean = lambda r: (r["sdr/vocals"] + r["sdr/other"]) / 2
best = max(sr, key=mean)
assert int(sa["train_best_step"]) == best["step"], (sa, best)
assert abs(float(sa["train_best_valid_sdr"]) - mean(best)) < 1e-3, (sa, best)
assert "train_best_valid_loss" not in sa
EOF

# the validation baseline (the mixture as every estimate), against global SDR
# computed here from the waveforms the validation spectrograms were made from
head -n 1 logs/valid-mixture.csv | grep -q '^loss,sdr/vocals,sdr/other$'
if "$PYTHON" -c 'import numpy' 2>/dev/null; then
    "$BIN/musdb-slice" --split test --segment 0.15 --count 2 -S vocals,other root > valid-wave.ts
    "$PYTHON" - "$TOP/examples/python" valid-wave.ts logs/valid-mixture.csv <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import tfswa_stream
recs = list(tfswa_stream.read(open(sys.argv[2], "rb")))
assert len(recs) == 2, len(recs)
want = {}
for stem in ("vocals", "other"):
    v = []
    for attrs, t in recs:
        s, x = t[stem].astype(np.float64), t["mixture"].astype(np.float64)
        v.append(10 * np.log10((np.sum(s * s) + 1e-7) / (np.sum((s - x) ** 2) + 1e-7)))
    want[stem] = np.mean(v)
lines = open(sys.argv[3]).read().split()
got = dict(zip(lines[0].split(","), map(float, lines[1].split(","))))
for stem in want:
    assert abs(got["sdr/" + stem] - want[stem]) < 0.01, (stem, got, want)
assert got["loss"] > 0
EOF
else
    echo "note: the validation baseline was not checked against numpy (numpy is missing for $PYTHON)" >&2
fi
"$PYTHON" - logs/events.out.tfevents.* <<'EOF'
import struct, sys
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF
def mask(c):
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF
tags = set()
for path in sys.argv[1:]:
    buf = open(path, "rb").read()
    pos = n = 0
    while pos < len(buf):
        (ln,) = struct.unpack_from("<Q", buf, pos)
        (lc,) = struct.unpack_from("<I", buf, pos + 8)
        assert lc == mask(crc32c(buf[pos:pos + 8])), "length CRC"
        data = buf[pos + 12:pos + 12 + ln]
        (dc,) = struct.unpack_from("<I", buf, pos + 12 + ln)
        assert dc == mask(crc32c(data)), "data CRC"
        for t in (b"loss/train", b"loss/vocals", b"lr", b"grad_norm", b"valid/loss", b"valid/sdr/other",
                  b"valid_mixture/sdr/vocals"):
            if t in data:
                tags.add(t)
        pos += 12 + ln + 4
        n += 1
    assert pos == len(buf)
assert len(tags) == 7, tags
EOF

# SIGTERM: saves at the end of the step and exits 143; resumable
cp init.ckpt c.ckpt
"$BIN/musdb-slice" --random --segment 0.15 --seed 9 -S vocals,other root | "$BIN/stft" -n 256 -H 64 |
    "$NET" $ARGS --steps 100000 --save-every 1 -m c.ckpt &
pid=$!
i=0
until "$BIN/tsinfo" c.ckpt 2>/dev/null | grep -q '@train_step'; do
    i=$((i + 1))
    [ $i -lt 6000 ] || { echo "no checkpoint after 600 s" >&2; kill -9 $pid; exit 1; }
    sleep 0.1
done
kill -TERM $pid
rc=0
wait $pid || rc=$?
test $rc -eq 143 || { echo "SIGTERM: exit $rc" >&2; exit 1; }

# the band model trains through the same trainer: deterministic, the weights move, state saved
"$BIN/tfswa-net" --init -m band.ckpt --preset band --dims 8 --heads 2 --window 4 --depths 1 --mask-hidden 8 \
    --n-fft 256 --hop 64 --stems vocals,other --seed 1 2>/dev/null
cp band.ckpt ba.ckpt
cp band.ckpt bb.ckpt
"$NET" $ARGS -m ba.ckpt --valid valid.ts train.ts
"$NET" $ARGS -m bb.ckpt --valid valid.ts train.ts
cmp ba.ckpt bb.ckpt || { echo "band: two runs differ" >&2; exit 1; }
"$BIN/tsinfo" ba.ckpt | grep -q '@train_step = 8' || { echo "band: no training state" >&2; exit 1; }
"$PYTHON" - <<'PY' || { echo "band: weights did not move" >&2; exit 1; }
import os, sys
sys.path.insert(0, os.environ["TOP"] + "/examples/python")
import numpy as np, tfswa_stream as ts
_, a = next(ts.read(open("band.ckpt", "rb")))
_, b = next(ts.read(open("ba.ckpt", "rb")))
for k in ("band.0.fc.weight", "blocks.0.tsa.attn.qkv.weight", "norm_out.weight", "mask.3.fc2.bias"):
    assert not np.array_equal(a[k], b[k]), k
    assert np.isfinite(b[k]).all(), k
PY
echo ok
