#!/bin/sh
# tfswa-net --amp (bf16 matrix products of the linear layers, nn/precision.h)
# against float32, on this machine in one run: seconds to separate 3 s of
# audio with the `tiny` model (and the `seed` model: PRESETS) and seconds per
# training step (tiny, batch 1, 3 s, 4 stems), each without and with --amp,
# the speed ratios, and what --amp
# does to the output: the SDR of the --amp estimate against the float32
# estimate (waveforms through istft; per stem, 10 log10 |ref|^2 / |ref -
# est|^2, ref the float32 estimate), for an untrained model (MODEL= a
# trained checkpoint instead) and, after training, the loss of the two runs.
# Wall and CPU seconds (user + system; the latter steadier on a shared
# machine); the best of REPS runs. Never fails on time. Environment: BIN
# (default build/bin), THREADS (default 2), REPS (default 3), STEPS (timed
# training steps, default 2), PRESETS (separation; default "tiny seed"),
# MODEL (a checkpoint for the SDR and training; default an untrained tiny).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$TOP/build/bin}
PYTHON=${PYTHON:-/usr/bin/python3}
THREADS=${THREADS:-2}
REPS=${REPS:-3}
STEPS=${STEPS:-2}
PRESETS=${PRESETS:-"tiny seed"}
W=$(mktemp -d "${TMPDIR:-/tmp}/tfswa-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
trap 'exit 130' INT TERM
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
export TOP

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); AVX512_BF16: $(grep -qw avx512_bf16 /proc/cpuinfo && echo yes || echo no); load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN/tfswa-net" --help | sed -n 's/^ *here: /--amp here: /p'
if [ -n "${MODEL:-}" ]; then cp "$MODEL" "$W/m.ckpt"; else "$BIN/tfswa-net" --init -q -m "$W/m.ckpt" --preset tiny; fi

# 3 s of a stereo mixture of four synthetic stems (tones, noise bursts), with the stems as references
"$PYTHON" - "$W/wav.ts" <<'PY'
import os, sys
sys.path.insert(0, os.environ["TOP"] + "/examples/python")
import numpy as np, tfswa_stream as ts
n = 3 * 44100
t = np.arange(n) / 44100
rng = np.random.default_rng(1)
def st(x): return np.stack([x, 0.8 * x]).astype(np.float32)
stems = {
    "vocals": st(0.3 * np.sin(2 * np.pi * (330 + 30 * np.sin(2 * np.pi * 5 * t)) * t)),
    "drums": st(0.3 * rng.standard_normal(n) * (np.sin(2 * np.pi * 2 * t) > 0.9)),
    "bass": st(0.4 * np.sin(2 * np.pi * 55 * t)),
    "other": st(0.1 * rng.standard_normal(n) + 0.2 * np.sin(2 * np.pi * 440 * t)),
}
mix = sum(stems.values()).astype(np.float32)
with open(sys.argv[1], "wb") as f:
    ts.write(f, [({"track": "amp-bench", "rate": "44100", "offset": "0", "length": str(n)},
                  dict(mixture=mix, **stems))])
PY
"$BIN/stft" -q "$W/wav.ts" > "$W/in.ts"

# best of REPS: "wall cpu" seconds of a command (stdout to $W/out)
best() {
    b=
    for r in $(seq "$REPS"); do
        /usr/bin/time -f "%e %U %S" -o "$W/t" "$@" > "$W/out" 2> "$W/err" || { cat "$W/err" >&2; exit 1; }
        b=$(awk -v b="$b" '{ w = $1; c = $2 + $3 } END { if (b == "") print w, c; else { split(b, o, " ");
            print (w < o[1] ? w : o[1]), (c < o[2] ? c : o[2]) } }' "$W/t")
    done
    echo "$b"
}

printf '%-36s %9s %9s\n' "" "wall s" "cpu s"
for p in $PRESETS; do
    m=$W/m.ckpt
    [ $p = tiny ] || { m=$W/$p.ckpt; "$BIN/tfswa-net" --init -q -m "$m" --preset $p; }
    for amp in "" --amp; do
        r=$(best "$BIN/tfswa-net" -q -j "$THREADS" -m "$m" $amp "$W/in.ts")
        [ $p = tiny ] && "$BIN/istft" -q "$W/out" > "$W/sep${amp:-fp32}.ts"
        echo "$r" > "$W/inf$p${amp:-fp32}"
        printf '%-36s %9.2f %9.2f\n' "separate 3 s ($p) ${amp:-float32}" $r
    done
    read iw ic < "$W/inf${p}fp32"
    read aw ac < "$W/inf$p--amp"
    awk -v p=$p -v iw=$iw -v ic=$ic -v aw=$aw -v ac=$ac 'BEGIN {
        printf "  speed-up of --amp, separation (%s): %.2fx wall, %.2fx cpu\n", p, iw / aw, ic / ac }'
done

# one training step: (1 + STEPS) steps minus 1 step, over the same example
for k in $(seq $((STEPS + 1))); do cat "$W/in.ts"; done > "$W/train.ts"
for amp in "" --amp; do
    for k in 1 $((STEPS + 1)); do
        cp "$W/m.ckpt" "$W/r$k.ckpt"
        r=$(best "$BIN/tfswa-net" --train -m "$W/r$k.ckpt" --batch-size 1 --steps $k --save-every 0 --log-every 1 \
            --log-dir "$W/log$k$amp" \
            -j "$THREADS" $amp "$W/train.ts")
        echo "$r" > "$W/tr$k"
    done
    read w1 c1 < "$W/tr1"
    read wn cn < "$W/tr$((STEPS + 1))"
    awk -v W="$W" -v a="${amp:-float32}" -v w1=$w1 -v c1=$c1 -v wn=$wn -v cn=$cn -v k=$STEPS 'BEGIN {
        w = (wn - w1) / k; c = (cn - c1) / k; printf "%-36s %9.2f %9.2f\n", "training step (tiny, 3 s) " a, w, c;
        print w, c > (W "/step" (a == "float32" ? "fp32" : "amp")) }'
    tail -n 1 "$W/log$((STEPS + 1))$amp/train.csv" | awk -F, -v a="${amp:-float32}" '{ print "  loss after the run (" a "): " $6 }'
done

read sw sc < "$W/stepfp32"
read tw tc < "$W/stepamp"
awk -v sw=$sw -v sc=$sc -v tw=$tw -v tc=$tc 'BEGIN {
    printf "  speed-up of --amp, training step (tiny): %.2fx wall, %.2fx cpu\n", sw / tw, sc / tc }'

"$PYTHON" - "$W/sepfp32.ts" "$W/sep--amp.ts" <<'PY'
import os, sys
sys.path.insert(0, os.environ["TOP"] + "/examples/python")
import numpy as np, tfswa_stream as ts
ref = [t for _, t in ts.read(open(sys.argv[1], "rb"))][0]
est = [t for _, t in ts.read(open(sys.argv[2], "rb"))][0]
out = []
for k in sorted(ref):
    if k.startswith("est/"):
        r, e = ref[k].astype(np.float64), est[k].astype(np.float64)
        out.append("%s %.1f dB" % (k[4:], 10 * np.log10(np.sum(r * r) / max(np.sum((r - e) ** 2), 1e-300))))
print("SDR of the --amp estimate against the float32 estimate: " + ", ".join(out))
PY
