#!/bin/sh
# sdr against a third-party implementation: mir_eval 0.7's bss_eval_images
# (tests/data/bsseval/mireval-*.json, made by make_mireval.py; README.md
# there). With one window covering the whole signal, museval's BSSEval v4
# with whole-track filters is exactly v3's image bss_eval, so SDR, ISR, SIR
# and SAR of every stem must agree to 0.01 dB. Two well-conditioned,
# genuinely stereo 4-stem cases, regenerated here from fixed seeds:
#   well:    tests/helpers/sdr_gen (44.1 kHz, 3.2 s: window = whole length)
#   spatial: tests/helpers/sdr_mireval (16 kHz, 2 s; 2x2 FIR spatial
#            distortion, filtered leaks, cubic distortion, noise), once with
#            the window equal to the length and once with a longer window
#            (museval: one window of the whole signal) and 2 threads.
# Neither mir_eval, scipy nor numpy is needed here (plain Python json).
set -eu
D="$TOP/tests/data/bsseval"
H="$BUILD/tests/helpers"
for h in sdr_gen sdr_mireval; do
    [ -x "$H/$h" ] || { echo "helper $h not built" >&2; exit 1; }
done
[ -x "$PYTHON" ] || { echo "no python3" >&2; exit 77; }

cat > "$TMPDIR/compare.py" <<'PY'
import json, math, sys
golden, ours = sys.argv[1], sys.argv[2]
g = json.load(open(golden)); o = json.load(open(ours))
names = [t['name'] for t in g['targets']]
assert [t['name'] for t in o['targets']] == names, (names, [t['name'] for t in o['targets']])
worst = 0.0
for tg, to in zip(g['targets'], o['targets']):
    if len(to['frames']) != 1:
        sys.exit('%s: %s: %d windows, expected one' % (ours, tg['name'], len(to['frames'])))
    f = to['frames'][0]
    if f['time'] != 0:
        sys.exit('%s: %s: window starts at %r' % (ours, tg['name'], f['time']))
    if f['duration'] * g['rate'] < g['samples'] - 0.5:
        sys.exit('%s: window of %r s is shorter than the signal' % (ours, f['duration']))
    for m in ('SDR', 'ISR', 'SIR', 'SAR'):
        a, b = tg[m], f['metrics'][m]
        if not isinstance(b, (int, float)) or not math.isfinite(b) or abs(a - b) > 0.01:
            sys.exit('%s %s: mir_eval %r, sdr %r' % (tg['name'], m, a, b))
        worst = max(worst, abs(a - b))
print('%s: 16 values, worst difference %.5f dB' % (golden, worst))
PY

# run CASE WINDOW_SEC [sdr options]: scores $TMPDIR/CASE with one window
run() {
    c=$1 w=$2; shift 2
    rm -rf "$TMPDIR/$c-out"
    "$BIN/sdr" -q --window "$w" --hop "$w" "$@" -r "$TMPDIR/$c/reference" -e "$TMPDIR/$c/estimate" \
        --json "$TMPDIR/$c-out" >/dev/null
    "$PYTHON" "$TMPDIR/compare.py" "$D/mireval-$c.json" "$TMPDIR/$c-out/reference.json"
}

"$H/sdr_gen" "$TMPDIR/well"
run well 3.2

"$H/sdr_mireval" "$TMPDIR/spatial"
run spatial 2
run spatial 1000 -j 2
