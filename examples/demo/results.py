#!/usr/bin/python3
"""results.py: a Markdown table comparing systems from museval JSON scores.

    results.py [--title T] [--metric SDR] LABEL=DIR [LABEL=DIR ...]

Each DIR holds one museval JSON file per track (found recursively), as
`sdr --json DIR` or museval write them: {"targets": [{"name": stem,
"frames": [{"metrics": {"SDR": ..., ...}}, ...]}, ...]}. Aggregation is
museval's: per track the median over frames (NaN frames, where the
reference is silent, ignored), then the median over tracks. Prints one
table of that figure per stem and system (rows: stems; columns: systems),
then one per track. With --valid-csv (the trainer's logs/valid.csv), also
the validation scores of training: the untrained model (step 0), the best
and the last validation, and the mixture as the estimate (the trainer's
valid-mixture.csv beside valid.csv). Standard library only.
"""
import csv
import argparse
import glob
import json
import math
import os
import sys


def median(xs):
    xs = sorted(x for x in xs if x is not None and not math.isnan(x))
    if not xs:
        return float("nan")
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def load(d, metric):
    """{track: {stem: median over frames}}"""
    out = {}
    files = sorted(glob.glob(os.path.join(d, "**", "*.json"), recursive=True))
    if not files:
        sys.exit("results.py: %s: no JSON score files" % d)
    for f in files:
        with open(f) as fh:
            try:
                j = json.load(fh)
            except ValueError as e:
                sys.exit("results.py: %s: %s" % (f, e))
        track = j.get("name") or os.path.splitext(os.path.basename(f))[0]
        for t in j.get("targets", []):
            vals = []
            for fr in t.get("frames", []):
                v = fr.get("metrics", {}).get(metric)
                vals.append(float("nan") if v is None else float(v))
            out.setdefault(track, {})[t["name"]] = median(vals)
    return out


def fmt(v):
    return "n/a" if math.isnan(v) else "%.2f" % v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--title", default="")
    ap.add_argument("--metric", default="SDR")
    ap.add_argument("--valid-csv", help="the trainer's valid.csv: validation during training")
    ap.add_argument("systems", nargs="+", metavar="LABEL=DIR")
    a = ap.parse_args()
    systems = []
    for s in a.systems:
        if "=" not in s:
            ap.error("expected LABEL=DIR, got %r" % s)
        label, d = s.split("=", 1)
        systems.append((label, load(d, a.metric)))
    stems = []
    for _, sc in systems:
        for tr in sc.values():
            for st in tr:
                if st not in stems:
                    stems.append(st)
    order = ["vocals", "drums", "bass", "other", "accompaniment"]
    stems.sort(key=lambda s: order.index(s) if s in order else len(order))
    tracks = sorted({t for _, sc in systems for t in sc})
    if a.title:
        print("### %s\n" % a.title)
    print("%s in dB (median over 1 s frames, then over %d test track%s; higher is better)\n"
          % (a.metric, len(tracks), "" if len(tracks) == 1 else "s"))
    print("| stem | " + " | ".join(l for l, _ in systems) + " |")
    print("|---|" + "---:|" * len(systems))
    for st in stems:
        row = [fmt(median([sc[t][st] for t in sc if st in sc[t]])) for _, sc in systems]
        print("| %s | %s |" % (st, " | ".join(row)))
    means = []
    for _, sc in systems:
        per_stem = [median([sc[t][st] for t in sc if st in sc[t]]) for st in stems]
        per_stem = [v for v in per_stem if not math.isnan(v)]
        means.append(sum(per_stem) / len(per_stem) if per_stem else float("nan"))
    print("| **mean** | %s |" % " | ".join("**%s**" % fmt(v) for v in means))
    print("\nPer track (%s, median over frames):\n" % a.metric)
    print("| track | stem | " + " | ".join(l for l, _ in systems) + " |")
    print("|---|---|" + "---:|" * len(systems))
    for t in tracks:
        for st in stems:
            row = [fmt(sc.get(t, {}).get(st, float("nan"))) for _, sc in systems]
            print("| %s | %s | %s |" % (t, st, " | ".join(row)))
    if a.valid_csv:
        validation(a.valid_csv)


def validation(path):
    """Rows of valid.csv: step,epoch,examples,loss,sdr/<stem>..."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        sys.exit("results.py: %s" % e)
    if not rows:
        return
    stems = [k[4:] for k in rows[0] if k.startswith("sdr/")]
    picks = []
    first = rows[0]
    if first["step"] == "0":
        picks.append(("untrained (step 0)", first))
    best = min(rows, key=lambda r: float(r["loss"]))
    if best is not first:
        picks.append(("best loss (step %s)" % best["step"], best))
    if rows[-1] is not best and rows[-1] is not first:
        picks.append(("last (step %s)" % rows[-1]["step"], rows[-1]))
    print("\nValidation during training (global SDR in dB on the saved validation stream; "
          "the model separated above is the last):\n")
    print("| model | loss | " + " | ".join(stems) + " |")
    print("|---|---:|" + "---:|" * len(stems))
    # the trainer's baseline beside valid.csv: the mixture as every estimate
    base = os.path.join(os.path.dirname(path), "valid-mixture.csv")
    if os.path.exists(base):
        with open(base, newline="") as f:
            picks += [("mixture (baseline)", r) for r in csv.DictReader(f)]
    for label, r in picks:
        print("| %s | %.4f | %s |" % (label, float(r["loss"]), " | ".join("%.2f" % float(r["sdr/" + st]) for st in stems)))


if __name__ == "__main__":
    main()
