#!/bin/sh
# sdr's summary prints the two published aggregates side by side: museval's
# median over tracks of the track medians (checked against numpy on the
# per-window scores sdr writes as JSON) and the MDX challenge's mean over
# tracks of the global SDR (checked against numpy's global SDR of the
# signals themselves); and --csv loads with pandas.read_csv as it is (float
# columns, quoted track names, nan) and gives the same aggregates.
set -eu
cd "$TMPDIR"
fail() { echo "FAIL: $*"; exit 1; }
command -v "$PYTHON" > /dev/null && "$PYTHON" -c 'import numpy' 2> /dev/null || { echo "numpy not found"; exit 77; }

# four tracks of 3.2 s, vocals/other; track 1's vocals silent for the first
# second (a NaN window); track 2's name has a comma and quotes
"$PYTHON" - <<'PY'
import numpy as np, os, json
rng = np.random.default_rng(11)
names = ["alpha", "beta", 'gamma, "the" third', "delta"]
n = int(3.2 * 44100)
for i, name in enumerate(names):
    d = "in/%06d" % i
    os.makedirs(d + "/est", exist_ok=True)
    t = np.arange(n) / 44100.0
    v = np.stack([np.sin(2 * np.pi * (220 + 40 * i) * t), np.sin(2 * np.pi * (330 + 10 * i) * t + 1)]) * 0.3
    o = rng.standard_normal((2, n)) * 0.1
    if i == 1: v[:, :44100] = 0
    ev = v + (0.05 + 0.05 * i) * rng.standard_normal((2, n)) + 0.1 * o
    eo = o + (v - ev) * 0.5
    for nm, a in [("vocals", v), ("other", o), ("est/vocals", ev), ("est/other", eo), ("mixture", v + o)]:
        np.save(d + "/" + nm + ".npy", a.astype(np.float32))
    json.dump({"track": name, "rate": "44100"}, open(d + "/attrs.json", "w"))
PY
"$BIN/npy2ts" in > in.ts
"$BIN/sdr" -q --json json --csv s.csv < in.ts > table.txt || fail "sdr exit $?"
grep -q "^SDR as published tables aggregate it" table.txt || fail "no aggregates table: $(cat table.txt)"
grep -q "^  museval: median over tracks" table.txt || fail "museval label"
grep -q "^  MDX: *mean over tracks" table.txt || fail "MDX label"
"$PYTHON" - <<'PY' || fail "aggregates differ from numpy"
import numpy as np, json, glob
# printed aggregates: the lines after the "SDR as published" header
lines = open("table.txt").read().split("SDR as published tables aggregate it")[1].splitlines()
printed = {}
for l in lines[2:]:
    f = l.split()
    if len(f) == 4 and f[3].isdigit():
        printed[f[0]] = (float(f[1]), float(f[2]), int(f[3]))
assert set(printed) == {"vocals", "other"}, printed
# museval: per track the median over windows (NaN left out), then the median over tracks
med = {}
for fn in glob.glob("json/**/*.json", recursive=True):
    for t in json.load(open(fn))["targets"]:
        s = [np.nan if fr["metrics"]["SDR"] is None else fr["metrics"]["SDR"] for fr in t["frames"]]
        med.setdefault(t["name"], []).append(np.nanmedian(np.array(s, float)))
nan_windows = sum(fr["metrics"]["SDR"] is None or fr["metrics"]["SDR"] != fr["metrics"]["SDR"]
                  for fn in glob.glob("json/**/*.json", recursive=True)
                  for t in json.load(open(fn))["targets"] for fr in t["frames"])
assert nan_windows >= 1, "the silent second gave no NaN window"
# MDX: the global SDR of the signals, mean over tracks
g = {}
for i in range(4):
    d = "in/%06d/" % i
    for s in ("vocals", "other"):
        r = np.load(d + s + ".npy").astype(np.float64); e = np.load(d + "est/" + s + ".npy").astype(np.float64)
        g.setdefault(s, []).append(10 * np.log10((np.sum(r ** 2) + 1e-7) / (np.sum((r - e) ** 2) + 1e-7)))
for s in ("vocals", "other"):
    mv, mx, n = printed[s]
    assert n == 4, (s, n)
    assert len(med[s]) == 4
    assert abs(mv - np.median(med[s])) < 6e-4, (s, mv, np.median(med[s]))
    assert abs(mx - np.mean(g[s])) < 6e-4, (s, mx, np.mean(g[s]))
    print(s, "museval", mv, "MDX", mx)
PY
if "$PYTHON" -c 'import pandas' 2> /dev/null; then
    "$PYTHON" - <<'PY' || fail "pandas"
import pandas as pd, numpy as np
df = pd.read_csv("s.csv")
assert list(df.columns) == ["track", "target", "SDR", "SIR", "ISR", "SAR", "SI-SDR", "gSDR"], list(df.columns)
assert all(df[c].dtype == np.float64 for c in df.columns[2:]), df.dtypes
assert sorted(df.track.unique()) == sorted(["alpha", "beta", 'gamma, "the" third', "delta"]), df.track.unique()
assert len(df) == 8
lines = open("table.txt").read().split("SDR as published tables aggregate it")[1].splitlines()
printed = {l.split()[0]: (float(l.split()[1]), float(l.split()[2])) for l in lines[2:4]}
for s, (mv, mx) in printed.items():
    sub = df[df.target == s]
    assert abs(sub.SDR.median() - mv) < 6e-4 and abs(sub.gSDR.mean() - mx) < 6e-4, (s, sub, mv, mx)
print(df.groupby("target")[["SDR", "gSDR"]].agg({"SDR": "median", "gSDR": "mean"}))
PY
    # nan is written as nan (never -nan) and read as NaN
    printf 'track,target,SDR,SIR,ISR,SAR,SI-SDR,gSDR\nx,vocals,nan,inf,-inf,1.00000,2.00000,3.00000\n' > n.csv
    "$PYTHON" -c '
import pandas as pd, numpy as np
d = pd.read_csv("n.csv")
assert np.isnan(d.SDR[0]) and d.SIR[0] == np.inf and d.ISR[0] == -np.inf and d.SDR.dtype == np.float64
' || fail "pandas reads nan/inf"
    ! grep -q -- "-nan" s.csv || fail "-nan in the CSV"
else
    echo "note: pandas not installed; CSV checked with numpy only"
    "$PYTHON" -c '
import numpy as np
a = np.genfromtxt("s.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
' || fail "numpy reads the CSV"
fi
exit 0
