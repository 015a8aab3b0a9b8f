#!/bin/sh
# sdr against museval's numbers (tests/data/bsseval, see its README.md):
# every windowed value to 0.01 dB, NaN exactly where museval has NaN, and
# the JSON against museval's schema (formats/museval.schema.json).
set -eu
D="$TOP/tests/data/bsseval"
GEN="$BUILD/tests/helpers/sdr_gen"
for h in sdr_gen sdr_stream sdr_q16; do
    [ -x "$BUILD/tests/helpers/$h" ] || { echo "helper $h not built" >&2; exit 1; }
done
[ -x "$PYTHON" ] || { echo "no python3" >&2; exit 77; }

# compare.py GOLDEN OURS METRICS: METRICS = the metrics compared numerically
# (all of them are always compared for NaN-ness); validates OURS against the schema.
cat > "$TMPDIR/compare.py" <<'PY'
import json, math, sys
golden, ours, metrics, schema = sys.argv[1], sys.argv[2], sys.argv[3].split(','), sys.argv[4]
g = json.load(open(golden)); o = json.load(open(ours))
def validate(x, s, where):
    t = s.get('type')
    ok = {'object': isinstance(x, dict), 'array': isinstance(x, list), 'string': isinstance(x, str),
          'number': isinstance(x, (int, float)) and not isinstance(x, bool)}[t]
    if not ok: sys.exit('%s: %s: not a %s' % (ours, where, t))
    if t == 'object':
        for k, sub in s.get('properties', {}).items():
            if k in x: validate(x[k], sub, where + '.' + k)
    if t == 'array':
        for i, v in enumerate(x): validate(v, s['items'], '%s[%d]' % (where, i))
validate(o, json.load(open(schema)), 'root')
names = [t['name'] for t in g['targets']]
assert [t['name'] for t in o['targets']] == names, (names, [t['name'] for t in o['targets']])
worst, n = 0.0, 0
for tg, to in zip(g['targets'], o['targets']):
    assert len(tg['frames']) == len(to['frames']), (tg['name'], len(tg['frames']), len(to['frames']))
    for k, (fg, fo) in enumerate(zip(tg['frames'], to['frames'])):
        assert fo['time'] == fg['time'] and fo['duration'] == fg['duration'], (fo['time'], fo['duration'])
        for m in ('SDR', 'SIR', 'SAR', 'ISR'):
            a, b = fg['metrics'][m], fo['metrics'][m]
            if a is None or (isinstance(a, float) and math.isnan(a)):
                if not math.isnan(b): sys.exit('%s %s frame %d: museval NaN, ours %r' % (tg['name'], m, k, b))
                continue
            if math.isnan(b): sys.exit('%s %s frame %d: museval %r, ours NaN' % (tg['name'], m, k, a))
            if m in metrics:
                n += 1; worst = max(worst, abs(a - b))
                if abs(a - b) > 0.01: sys.exit('%s %s frame %d: museval %r, ours %r' % (tg['name'], m, k, a, b))
print('%s: %d values, worst difference %.5f dB' % (golden, n, worst))
PY
cmp() { "$PYTHON" "$TMPDIR/compare.py" "$@" "$TOP/formats/museval.schema.json"; }

# museval's own vectors (genuinely stereo references, noisy estimates:
# well conditioned, see the README): all four metrics of every window.
for c in noise-2stem leak-4stem silent-start; do
    "$BIN/sdr" -q -r "$D/$c/reference" -e "$D/$c/estimate" --json "$TMPDIR/$c" >/dev/null
    cmp "$D/$c/museval.json" "$TMPDIR/$c/reference.json" SDR,SIR,SAR,ISR
done

# a well-conditioned 4-stem case: all four metrics of every window
"$GEN" "$TMPDIR/well"
"$BIN/sdr" -q -r "$TMPDIR/well/reference" -e "$TMPDIR/well/estimate" --json "$TMPDIR/well-out" >/dev/null
cmp "$D/well-4stem.json" "$TMPDIR/well-out/reference.json" SDR,SIR,SAR,ISR
# the same through a stream, with 2 threads
"$BUILD/tests/helpers/sdr_stream" "$TMPDIR/well" well >"$TMPDIR/well.ts"
"$BIN/sdr" -q -j 2 --json "$TMPDIR/well-stream" "$TMPDIR/well.ts" >/dev/null
cmp "$D/well-4stem.json" "$TMPDIR/well-stream/test/well.json" SDR,SIR,SAR,ISR

# leak-4stem rounded to 16 bits, as MUSDB18-HQ's stems are: well
# conditioned again, and all four metrics agree
"$BUILD/tests/helpers/sdr_q16" "$D/leak-4stem" "$TMPDIR/q16"
"$BIN/sdr" -q -r "$TMPDIR/q16/reference" -e "$TMPDIR/q16/estimate" --json "$TMPDIR/q16-out" >/dev/null
cmp "$D/leak-4stem-pcm16.json" "$TMPDIR/q16-out/reference.json" SDR,SIR,SAR,ISR
