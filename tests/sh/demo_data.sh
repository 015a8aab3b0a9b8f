#!/bin/sh
# The embedded demo data set (examples/data): renders one song as a short
# excerpt, twice, and checks the MUSDB18-HQ layout, the WAV format, equal
# lengths, mixture == drums + bass + other + vocals exactly (as integers),
# byte-identical output across runs, that musdb-slice reads it, that the
# experiment Makefiles score the two baselines on it (the oracle mask well
# above the mixture), and that midisplit rejects a damaged MIDI file.
set -eu
# variants: normal (it renders audio with fluidsynth; nothing to sanitize there)
command -v fluidsynth >/dev/null || { echo "skip: fluidsynth not installed (make deps)"; exit 77; }
mid=/usr/share/games/openttd/baseset/openmsx/train_filled_with_cash.mid
[ -r "$mid" ] || { echo "skip: openttd-openmsx not installed (make deps)"; exit 77; }
[ -r /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || { echo "skip: fluid-soundfont-gm not installed (make deps)"; exit 77; }
PYTHON=${PYTHON:-/usr/bin/python3}
T=${TMPDIR:-/tmp}
data="$TOP/examples/data"

for run in 1 2; do
  make -s -C "$data" OUT="$T/m$run" TRAIN= VALID=train_filled_with_cash TEST= \
    EXCERPT=4 >"$T/make$run.log" 2>&1 || { cat "$T/make$run.log"; echo "FAIL: make data (run $run)"; exit 1; }
done
track="$T/m1/train/OpenMSX - Train Filled with Cash"
for s in mixture drums bass other vocals; do
  [ -s "$track/$s.wav" ] || { echo "FAIL: $track/$s.wav missing"; exit 1; }
  cmp -s "$track/$s.wav" "$T/m2/train/OpenMSX - Train Filled with Cash/$s.wav" ||
    { echo "FAIL: $s.wav differs between two renders (not deterministic)"; exit 1; }
done
grep -qx "OpenMSX - Train Filled with Cash" "$T/m1/valid.txt" || { echo "FAIL: valid.txt"; exit 1; }

"$PYTHON" - "$track" <<'PY'
import sys, wave
import numpy as np
d = sys.argv[1]
x = {}
for s in ["mixture", "drums", "bass", "other", "vocals"]:
    w = wave.open("%s/%s.wav" % (d, s))
    assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (2, 44100, 2), (s, w.getparams())
    assert w.getnframes() == 4 * 44100, (s, w.getnframes())
    x[s] = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.int64)
tot = x["drums"] + x["bass"] + x["other"] + x["vocals"]
assert np.array_equal(tot, x["mixture"]), "mixture is not the exact sum of the stems"
for s, v in x.items():
    assert np.abs(v).max() > 100, "%s is (nearly) silent" % s
assert 0.5 * 32768 < np.abs(x["mixture"]).max() < 32767, "mixture level"
PY

if [ -x "$BIN/musdb-slice" ]; then
  n=$("$BIN/musdb-slice" --list --split valid "$T/m1" | wc -l)
  [ "$n" = 1 ] || { echo "FAIL: musdb-slice --list --split valid found $n tracks, expected 1"; exit 1; }
fi

# the experiment Makefiles on this one-song set (copied to test/ as well):
# the two baselines through make, oracle, istft, sdr and results.py
have=1
for t in musdb-slice stft istft oracle sdr; do [ -x "$BIN/$t" ] || have=0; done
if [ $have = 1 ]; then
  mkdir -p "$T/m1/test"
  cp -r "$track" "$T/m1/test/"
  o="$T/exp"
  make -s -C "$TOP/examples/vocals" BIN="$BIN" MUSDB="$T/m1" OUT="$o" THREADS=1 \
    "$o/scores/irm/.done" "$o/scores/mixture/.done" >"$T/exp.log" 2>&1 || { cat "$T/exp.log"; echo "FAIL: make -C examples/vocals (baselines)"; exit 1; }
  "$PYTHON" "$TOP/examples/demo/results.py" "irm=$o/scores/irm" "mixture=$o/scores/mixture" > "$T/results.md"
  "$PYTHON" - "$T/results.md" <<'PY'
import sys
rows = {l.split("|")[1].strip(): [float(v) for v in l.split("|")[2:4]]
        for l in open(sys.argv[1]) if l.startswith("| vocals |") or l.startswith("| accompaniment |")}
assert set(rows) == {"vocals", "accompaniment"}, rows
for stem, (irm, mix) in rows.items():
    assert irm > mix + 3, (stem, irm, mix)       # the oracle mask is far above the mixture
assert abs(rows["vocals"][1] + rows["accompaniment"][1]) < 0.5, rows   # mixture SDRs mirror each other
print("baselines (irm, mixture):", rows)
PY
fi

# the role rules on a song whose roles are known: channel 4 carries the
# melody, channel 1 doubles it, channel 2 is a GM bass, 10 the drums, 5 other
info=$("$T/m1/.bin/midisplit" --info "$(dirname "$mid")/be_sharp_bw_redfarn.mid")
for want in '^ *4 .*vocals (lead)$' '^ *1 .*vocals (doubles the lead)$' '^ *2 .*bass$' \
            '^ *10 .*drums$' '^ *5 .*other$'; do
  printf '%s\n' "$info" | grep -q "$want" || { echo "FAIL: midisplit --info lacks /$want/:"; echo "$info"; exit 1; }
done

# a damaged MIDI file: exit 1 and a message naming it
head -c 200 "$mid" > "$T/bad.mid"
if "$T/m1/.bin/midisplit" "$T/bad.mid" "$T/bad" 2>"$T/err"; then echo "FAIL: midisplit accepted a truncated file"; exit 1; fi
grep -q "bad.mid" "$T/err" || { echo "FAIL: midisplit error does not name the file:"; cat "$T/err"; exit 1; }
echo "ok: demo data layout, exact mixture, deterministic"
