#!/usr/bin/env python3
"""What limits the band model: oracle masks at the band model's resolution.

For each test track of a MUSDB-style root (default: the demo's 4 test songs),
the vocals SDR (median over 1 s frames with vocals, median over tracks: the
figure museval's median of medians gives for the oracle and the mixture) of:
  irm2        the ideal ratio mask per bin, |V|^2 / (|V|^2 + |A|^2)
  band-const  the same ratio per band and frame (the 38 bands of the band
              preset): the best any model can do whose mask is one gain per
              band and frame
  mixture     the mixture itself
If band-const is close to irm2, the band split's resolution is not what keeps
a band model's SDR low: recognising which source dominates each band is.
numpy only (STFT n_fft 2048, hop 512, periodic Hann, as stft(1)).
Usage: bench/band_oracle.py [MUSDB_ROOT]
"""
import glob
import sys
import wave

import numpy as np

N, H = 2048, 512
WIDTHS = [2] * 6 + [4] * 6 + [8] * 6 + [16] * 6 + [32] * 6 + [64] * 6 + [128, 141]


def readwav(path):
    w = wave.open(path)
    sw = w.getsampwidth()
    d = np.frombuffer(w.readframes(w.getnframes()), dtype={2: np.int16, 4: np.int32}[sw]).astype(np.float64)
    return d.reshape(-1, w.getnchannels()).T / 2 ** (8 * sw - 1)


WIN = np.hanning(N + 1)[:-1]


def stft(x):
    n = (x.shape[-1] - N) // H + 1
    return np.fft.rfft(np.stack([x[..., i * H:i * H + N] * WIN for i in range(n)], -2), axis=-1)


def istft(X, length):
    fr = np.fft.irfft(X, n=N, axis=-1) * WIN
    y, ws = np.zeros(X.shape[:-2] + (length,)), np.zeros(length)
    for i in range(X.shape[-2]):
        y[..., i * H:i * H + N] += fr[..., i, :]
        ws[i * H:i * H + N] += WIN ** 2
    return y / np.maximum(ws, 1e-8)


def frame_sdr(ref, est, rate=44100):
    v = []
    for i in range(0, ref.shape[-1] - rate + 1, rate):
        r, e = ref[:, i:i + rate], est[:, i:i + rate]
        if np.sum(r ** 2) > 1e-8:
            v.append(10 * np.log10(np.sum(r ** 2) / (np.sum((r - e) ** 2) + 1e-12)))
    return np.median(v)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else __file__.rsplit("/", 2)[0] + "/examples/data/musdb-demo"
    edges = np.cumsum([0] + WIDTHS)
    res = {}
    tracks = sorted(glob.glob(root + "/test/*/"))
    if not tracks:
        sys.exit(f"band_oracle: {root}/test: no tracks")
    for d in tracks:
        mix, voc = readwav(d + "mixture.wav"), readwav(d + "vocals.wav")
        M, V, A = stft(mix), stft(voc), stft(mix - voc)
        pv, pa = np.abs(V) ** 2, np.abs(A) ** 2
        band = np.zeros_like(pv)
        for k in range(len(WIDTHS)):
            s = slice(edges[k], edges[k + 1])
            ev, ea = pv[..., s].sum(-1, keepdims=True), pa[..., s].sum(-1, keepdims=True)
            band[..., s] = ev / (ev + ea + 1e-12)
        for name, m in (("irm2", pv / (pv + pa + 1e-12)), ("band-const", band), ("mixture", np.ones_like(pv))):
            est = istft(M * m, mix.shape[-1])
            res.setdefault(name, []).append(frame_sdr(voc[:, :est.shape[-1]], est))
    print(f"vocals SDR (dB), median of 1 s frames per track; {len(tracks)} tracks of {root}")
    for name, v in res.items():
        print(f"  {name:11s} median {np.median(v):6.2f}   tracks " + " ".join(f"{x:6.2f}" for x in v))


if __name__ == "__main__":
    main()
