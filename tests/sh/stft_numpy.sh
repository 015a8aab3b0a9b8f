#!/bin/sh
# stft at the default 2048/512 and specnorm against numpy in float64 (an
# independent reference: np.pad(mode="reflect"), np.fft.rfft), read with the
# example numpy reader of the stream (examples/python/tfswa_stream.py).
set -u
cd "$TMPDIR" || exit 1
"$PYTHON" -c 'import numpy' 2> /dev/null || { echo "numpy not available to $PYTHON" >&2; exit 77; }
[ -f "$TOP/examples/python/tfswa_stream.py" ] || { echo "no examples/python/tfswa_stream.py" >&2; exit 1; }
"$BUILD/tests/helpers/stft_gen" -r 2 mixture:2:9000 vocals:2:9000 short:1:1500 > w.ts || exit 1
"$BIN/stft" -q w.ts > s.ts || exit 1
"$BIN/specnorm" -q -o st.ts s.ts || exit 1
PYTHONPATH="$TOP/examples/python" "$PYTHON" - <<'PY'
import sys
import numpy as np
import tfswa_stream as ts

waves = list(ts.read(open("w.ts", "rb")))
specs = list(ts.read(open("s.ts", "rb")))
bad = 0
frames = []
for (wa, wt), (sa, st) in zip(waves, specs):
    N, h = int(sa["n_fft"]), int(sa["hop"])
    assert (sa["window"], sa["center"]) == ("hann", "reflect")
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N) / N)
    for name, x in wt.items():
        X = st[name]
        for c in range(x.shape[0]):
            xp = np.pad(x[c].astype(np.float64), N // 2, mode="reflect")
            T = 1 + x.shape[1] // h
            idx = np.arange(T)[:, None] * h + np.arange(N)[None, :]
            R = np.fft.rfft(xp[idx] * w, axis=1).T
            rel = np.linalg.norm(X[c] - R) / np.linalg.norm(R)
            if X.shape != (x.shape[0], N // 2 + 1, T) or not rel < 1e-5:
                print("%s channel %d: shape %s, relative error %.3g" % (name, c, X.shape, rel))
                bad += 1
    frames.append(st["mixture"])
allf = np.concatenate(frames, axis=2).astype(np.complex128)   # (2, F, T)
feat = np.stack([allf[0].real, allf[0].imag, allf[1].real, allf[1].imag])
sa, stt = next(ts.read(open("st.ts", "rb")))
for key, ref in (("mean", feat.mean(axis=2)), ("std", feat.std(axis=2))):
    err = np.abs(stt[key] - ref).max() / feat.std(axis=2).max()
    if stt[key].shape != ref.shape or not err < 1e-9:
        print("specnorm %s: error %.3g" % (key, err))
        bad += 1
if sa["channels"] != "re_L,im_L,re_R,im_R" or int(sa["frames"]) != feat.shape[2]:
    print("specnorm attributes", sa)
    bad += 1
print("numpy: %d problems" % bad)
sys.exit(1 if bad else 0)
PY
