#!/usr/bin/python3
"""picture.py: the demo's picture, drawn by gnuplot.

    picture.py --logs DIR --mixture WAV --estimate WAV --reference WAV
               [--stem vocals] [--seconds 12] [--max-hz 8000] -o OUT.png

Top: training and validation curves from the CSV files in the training log
folder (every column whose name has "loss" against the step, log scale; one
with "sdr" on the right axis, and the mixture's validation SDR from
valid-mixture.csv dashed in the same colour). Bottom: log-magnitude
spectrograms (2048-point Hann STFT, hop 512, both channels averaged, dB) of
the mixture, the model's estimate and the reference of one stem of one song.
Needs numpy and gnuplot.
"""
import argparse
import csv
import glob
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np


def read_wav(path):
    """(channels, frames) float64 from a PCM 16/24/32-bit or float WAV."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        sys.exit("picture.py: %s: not a WAV file" % path)
    pos, fmt, pcm = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            tag, ch, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == 0xFFFE:
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, ch, rate, bits)
        elif cid == b"data":
            pcm = body
        pos += 8 + size + (size & 1)
    if fmt is None or pcm is None:
        sys.exit("picture.py: %s: no fmt or data chunk" % path)
    tag, ch, rate, bits = fmt
    if tag == 3 and bits in (32, 64):
        x = np.frombuffer(pcm, "<f%d" % (bits // 8)).astype(np.float64)
    elif tag == 1 and bits == 16:
        x = np.frombuffer(pcm, "<i2") / 32768.0
    elif tag == 1 and bits == 32:
        x = np.frombuffer(pcm, "<i4") / 2147483648.0
    elif tag == 1 and bits == 24:
        b = np.frombuffer(pcm[:len(pcm) // 3 * 3], np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = np.where(v >= 1 << 23, v - (1 << 24), v) / 8388608.0
    else:
        sys.exit("picture.py: %s: unsupported WAV format %d/%d bits" % (path, tag, bits))
    n = len(x) // ch
    return x[:n * ch].reshape(n, ch).T, rate


def logspec(x, n_fft=2048, hop=512):
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    mags = 0
    for c in x:
        frames = 1 + (len(c) - n_fft) // hop
        idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
        mags = mags + np.abs(np.fft.rfft(c[idx] * w, axis=1)) ** 2
    return 10 * np.log10(mags / len(x) + 1e-10)      # (frames, bins)


def read_curves(logdir):
    """{column: [(step, value)]} from every CSV file under logdir that has a
    step column (valid-mixture.csv, a single baseline row, is drawn apart)."""
    curves = {}
    files = []
    for f in sorted(glob.glob(os.path.join(logdir, "**", "*.csv"), recursive=True)):
        with open(f, newline="") as fh:
            rows = list(csv.reader(fh))
        if len(rows) >= 2 and "step" in [h.strip().lower() for h in rows[0]]:
            files.append((f, rows))
    for f, rows in files:
        head = [h.strip().lower() for h in rows[0]]
        si = head.index("step")
        for ci, name in enumerate(head):
            if ci == si or not ("loss" in name or "sdr" in name):
                continue
            key = name if len(files) == 1 \
                else "%s %s" % (os.path.splitext(os.path.basename(f))[0], name)
            for r in rows[1:]:
                try:
                    curves.setdefault(key, []).append((float(r[si]), float(r[ci])))
                except (ValueError, IndexError):
                    pass
    return {k: v for k, v in curves.items() if v}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--logs", required=True)
    ap.add_argument("--mixture", required=True)
    ap.add_argument("--estimate", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--stem", default="vocals")
    ap.add_argument("--title", default="")
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--max-hz", type=float, default=8000.0)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="tfswa-picture.")
    specs = []
    vmax = -1e9
    for label, path in (("mixture", a.mixture), ("estimate: " + a.stem, a.estimate),
                        ("reference: " + a.stem, a.reference)):
        x, rate = read_wav(path)
        x = x[:, :int(a.seconds * rate)]
        s = logspec(x)
        nb = int(a.max_hz / (rate / 2048.0)) + 1
        s = s[:, :nb].astype(np.float32)
        vmax = max(vmax, float(s.max()))
        fn = os.path.join(tmp, "spec%d.bin" % len(specs))
        np.ascontiguousarray(s.T).tofile(fn)     # one row per bin: gnuplot array=(frames, bins)
        specs.append((label, fn, s.shape, rate))

    curves = read_curves(a.logs)
    gp = ["set terminal pngcairo size 1400,1000 font 'sans,10'",
          "set output '%s'" % a.output.replace("'", "''"),
          "set multiplot layout 2,2 title '%s'" % a.title.replace("'", "''")]
    # curves
    losses = {k: v for k, v in curves.items() if "loss" in k}
    sdrs = {k: v for k, v in curves.items() if "sdr" in k}
    gp += ["set title 'training and validation'", "set xlabel 'step'", "set ylabel 'loss'",
           "set logscale y", "set key top right", "set grid"]
    plots = []
    for i, (k, v) in enumerate(sorted(losses.items())):
        fn = os.path.join(tmp, "curve%d.dat" % i)
        np.savetxt(fn, np.array(v))
        plots.append("'%s' using 1:2 with lines lw 2 title '%s'" % (fn, k.replace("_", " ")))
    if sdrs:
        gp += ["set y2label 'validation SDR (dB)'", "set y2tics", "set ytics nomirror"]
        palette = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
        colour = {}  # stem -> colour, shared by its curve and its baseline
        for i, (k, v) in enumerate(sorted(sdrs.items())):
            fn = os.path.join(tmp, "sdr%d.dat" % i)
            np.savetxt(fn, np.array(v))
            c = colour.setdefault(k.split("sdr/")[-1], palette[len(colour) % len(palette)])
            plots.append("'%s' using 1:2 axes x1y2 with linespoints lw 2 lc rgb '%s' title '%s'"
                         % (fn, c, k.replace("_", " ")))
        # the mixture baseline (the trainer's valid-mixture.csv), dashed, over the same steps
        base = os.path.join(a.logs, "valid-mixture.csv")
        if os.path.exists(base):
            steps = [p[0] for v in sdrs.values() for p in v]
            with open(base) as f:
                head, vals = f.read().split()[:2]
            for i, (k, v) in enumerate(zip(head.split(","), vals.split(","))):
                if k.startswith("sdr/"):
                    fn = os.path.join(tmp, "base%d.dat" % i)
                    np.savetxt(fn, np.array([[min(steps), float(v)], [max(steps), float(v)]]))
                    c = colour.setdefault(k[4:], palette[len(colour) % len(palette)])
                    plots.append("'%s' using 1:2 axes x1y2 with lines lw 1 dt 2 lc rgb '%s' title 'mixture %s'"
                                 % (fn, c, k.replace("_", " ")))
    if plots:
        gp.append("plot " + ", ".join(plots))
    else:
        gp += ["unset logscale y", "set label 1 'no training log found in %s' at graph 0.5,0.5 center" % a.logs,
               "plot [0:1][0:1] NaN notitle", "unset label 1"]
    gp += ["unset logscale y", "unset y2label", "unset y2tics", "set ytics mirror", "unset grid",
           "set palette defined (0 'black', 1 '#3b0f70', 2 '#8c2981', 3 '#de4968', 4 '#fe9f6d', 5 '#fcfdbf')",
           "set cbrange [%g:%g]" % (vmax - 80, vmax), "set cblabel 'dB'",
           "set xlabel 'time (s)'", "set ylabel 'frequency (Hz)'", "unset key"]
    for label, fn, (frames, bins), rate in specs:
        dt, df = 512.0 / rate, rate / 2048.0
        gp += ["set title '%s'" % label.replace("'", "''"),
               "plot [0:%g][0:%g] '%s' binary array=(%d,%d) format='%%float' dx=%g dy=%g with image"
               % (frames * dt, (bins - 1) * df, fn, frames, bins, dt, df)]
    gp.append("unset multiplot")
    script = os.path.join(tmp, "demo.gp")
    with open(script, "w") as f:
        f.write("\n".join(gp) + "\n")
    r = subprocess.run(["gnuplot", script])
    for f in glob.glob(os.path.join(tmp, "*")):
        os.remove(f)
    os.rmdir(tmp)
    if r.returncode != 0:
        sys.exit("picture.py: gnuplot failed")


if __name__ == "__main__":
    main()
