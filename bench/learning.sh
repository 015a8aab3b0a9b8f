#!/bin/sh
# The speed of learning as a figure: validation SDR against CPU-minutes (and
# wall minutes) of training, read from a training log folder (tfswa-net
# --train --log-dir: valid.csv, whose time and cpu columns restart at 0 in
# each sitting of a resumed run; the sittings are added up here). Prints one
# line per validation: step, examples, wall and CPU minutes so far, the
# validation loss and SDR per stem, and the mixture baseline's SDR
# (valid-mixture.csv) for reference. CPU minutes are those of tfswa-net (all
# its threads); musdb-slice and stft upstream add a few percent.
# Usage: bench/learning.sh [LOGDIR...]   (default: the shipped model's recipe,
# examples/model/out/logs, and the demo's, examples/demo/out/logs, if present)
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
[ $# -gt 0 ] || set -- $(for d in "$TOP/examples/model/out/logs" "$TOP/examples/demo/out/logs"; do
    [ -s "$d/valid.csv" ] && echo "$d"; done)
[ $# -gt 0 ] || { echo "bench/learning.sh: no training logs (give LOGDIR, or run make -C examples/model or make demo)" >&2; exit 1; }
for d in "$@"; do
    echo "== $d"
    "$PYTHON" - "$d" <<'PY'
import csv, os, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(d, "valid.csv"))))
if not rows:
    sys.exit("%s: valid.csv has no rows" % d)
stems = [k[4:] for k in rows[0] if k.startswith("sdr/")]
timed = "cpu" in rows[0]
mix = {}
mp = os.path.join(d, "valid-mixture.csv")
if os.path.exists(mp):
    for r in csv.DictReader(open(mp)):
        mix = {s: r.get("sdr/" + s, "") for s in stems}
print("%7s %9s %8s %8s %9s " % ("step", "examples", "wall min", "CPU min", "loss") +
      " ".join("%12s" % ("SDR " + s) for s in stems))
wall0 = cpu0 = 0.0   # the sittings before this one
last_w = last_c = 0.0
for r in rows:
    w = float(r["time"]) if timed else float("nan")
    c = float(r["cpu"]) if timed else float("nan")
    if timed and (w < last_w or c < last_c):   # a new sitting (resume): its clocks restart
        wall0 += last_w
        cpu0 += last_c
    if timed:
        last_w, last_c = w, c
    print("%7s %9s %8.1f %8.1f %9.4f " % (r["step"], r["examples"], (wall0 + w) / 60, (cpu0 + c) / 60, float(r["loss"])) +
          " ".join("%12.2f" % float(r["sdr/" + s]) for s in stems))
if mix:
    print("%7s %9s %8s %8s %9s " % ("mixture", "", "", "", "") + " ".join("%12s" % mix[s] for s in stems))
if not timed:
    print("(an older log without time and cpu columns)")
PY
done
