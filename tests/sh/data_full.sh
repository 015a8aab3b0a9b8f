#!/bin/sh
# variants: normal (it renders audio with fluidsynth; the C it runs is tested under the sanitizers elsewhere)
# The full training set (examples/data/full.mk): its plan keeps the demo's
# test songs in test/ only and the validation songs out of training in every
# rendering, and refuses lists that break this; a small render (two songs of
# the train split, one of them for validation, and a test song, each in two
# SoundFonts, 3 s excerpts) has the MUSDB18-HQ layout, the track names,
# valid.txt, tracks.tsv and mixtures that are the exact sum of the stems; a
# second run with VARIANTS=1 renders only the new variant tracks (stamps),
# and stops on tracks that its settings do not make (stale, e.g. a song
# since moved to VALID);
# midisplit --transpose and --tempo do what they say.
set -eu
command -v fluidsynth >/dev/null || { echo "skip: fluidsynth not installed (make deps)"; exit 77; }
midi=/usr/share/games/openttd/baseset/openmsx
[ -r "$midi/5432gone_redfarn.mid" ] || { echo "skip: openttd-openmsx not installed (make deps)"; exit 77; }
for f in /usr/share/sounds/sf2/OPL-3_FM_128M.sf2 /usr/share/sounds/sf2/sf_GMbank.sf2; do
  [ -r "$f" ] || { echo "skip: $f missing (opl3-soundfont, csound-soundfont: make deps)"; exit 77; }
done
PYTHON=${PYTHON:-/usr/bin/python3}
T=${TMPDIR:-/tmp}
data="$TOP/examples/data"
fmk() { make -s -C "$data" -f full.mk "$@"; }
fail() { echo "FAIL: $*"; exit 1; }
demo_test="the_hobo_redfarn midnight_snow_run busy_schedule ttsong_iv_imuh3"

# 1. the default plan: 4 SoundFonts, test songs only in test/, validation
#    songs never rendered any other way than as validation tracks
fmk plan OUT="$T/none" VARIANTS=2 > "$T/plan"
[ "$(cut -f2 "$T/plan" | sort -u | tr '\n' ' ')" = "csound fluidr3 musescore opl3 " ] || fail "plan: SoundFonts $(cut -f2 "$T/plan" | sort -u)"
for s in $demo_test; do
  grep -q "^$s	" "$T/plan" || fail "plan: test song $s missing"
  ! grep "^$s	" "$T/plan" | grep -qv '	test$' || fail "plan: test song $s outside test/"
done
valid=$(sed -n 's/^VALID ?= //p' "$data/full.mk")
[ -n "$valid" ] || fail "no VALID line in full.mk"
for s in $valid; do
  [ "$(grep -c "^$s	.*	0	train$" "$T/plan")" = 4 ] || fail "plan: validation song $s is not in train/ once per SoundFont"
  ! grep -q "^$s	.*	[1-9]	" "$T/plan" || fail "plan: variants of validation song $s"
done
grep -q '	2	train$' "$T/plan" || fail "plan: VARIANTS=2 made no variant 2"
for bad in "TRAIN=busy_schedule" "VALID=the_hobo_redfarn" "VALID=keep_on_rolling"; do
  if fmk plan "$bad" >/dev/null 2>"$T/err"; then fail "full.mk accepted $bad"; fi
  grep -q "may" "$T/err" || { cat "$T/err"; fail "no clear error for $bad"; }
done

# 2. a small render: layout, names, lists, exact sums
o="$T/full"
small() { fmk OUT="$o" TRAIN=5432gone_redfarn VALID=train_filled_with_cash TEST=ttsong_iv_imuh3 EXCERPT=3 "$@"; }
small SOUNDFONTS="opl3 csound" VARIANTS=0 > "$T/make1.log" 2>&1 || { cat "$T/make1.log"; fail "make -f full.mk"; }
ls "$o/train" > "$T/train.ls"; ls "$o/test" > "$T/test.ls"
cat > "$T/train.want" <<'EOF'
OpenMSX - 5 4 3 2 Gone [Csound GM]
OpenMSX - 5 4 3 2 Gone [OPL3 FM]
OpenMSX - Train Filled with Cash [Csound GM]
OpenMSX - Train Filled with Cash [OPL3 FM]
EOF
printf '%s\n' "OpenMSX - Downtown Cab Ride [Csound GM]" "OpenMSX - Downtown Cab Ride [OPL3 FM]" > "$T/test.want"
printf '%s\n' "OpenMSX - Train Filled with Cash [OPL3 FM]" "OpenMSX - Train Filled with Cash [Csound GM]" > "$T/valid.want"
cmp -s "$T/train.ls" "$T/train.want" || { cat "$T/train.ls"; fail "train/ tracks"; }
cmp -s "$T/test.ls" "$T/test.want" || { cat "$T/test.ls"; fail "test/ tracks"; }
cmp -s "$o/valid.txt" "$T/valid.want" || { cat "$o/valid.txt"; fail "valid.txt"; }
[ "$(wc -l < "$o/tracks.tsv")" = 7 ] || { cat "$o/tracks.tsv"; fail "tracks.tsv: not a header and 6 tracks"; }
grep -q "^ttsong_iv_imuh3	opl3	0	0	1.00	test	OpenMSX - Downtown Cab Ride \[OPL3 FM\]$" "$o/tracks.tsv" || { cat "$o/tracks.tsv"; fail "tracks.tsv line"; }
if [ -x "$BIN/musdb-slice" ]; then
  [ "$("$BIN/musdb-slice" --list --split valid "$o" | wc -l)" = 2 ] || fail "musdb-slice --split valid: not 2 tracks"
  [ "$("$BIN/musdb-slice" --list --split train "$o" | wc -l)" = 2 ] || fail "musdb-slice --split train: not 2 tracks"
fi
"$PYTHON" - "$o" <<'PY'
import os, sys, wave
import numpy as np
root = sys.argv[1]
for split in ("train", "test"):
    for t in os.listdir(os.path.join(root, split)):
        x = {}
        for s in ["mixture", "drums", "bass", "other", "vocals"]:
            w = wave.open(os.path.join(root, split, t, s + ".wav"))
            assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (2, 44100, 2), (t, s, w.getparams())
            assert w.getnframes() == 3 * 44100, (t, s, w.getnframes())
            x[s] = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.int64)
        assert np.array_equal(x["drums"] + x["bass"] + x["other"] + x["vocals"], x["mixture"]), t
        for s, v in x.items():
            assert np.abs(v).max() > 100, (t, s, "(nearly) silent")
        assert 0.5 * 32768 < np.abs(x["mixture"]).max() < 32767, (t, "mixture level")
print("exact sums in", root)
PY

# 3. resume: VARIANTS=1 adds one variant track per train song and SoundFont,
#    and renders nothing else; settings that make fewer tracks than the folder
#    holds stop with the list of those tracks (musdb-slice would read them)
small SOUNDFONTS=opl3 VARIANTS=1 > "$T/make2.log" 2>&1 && fail "SOUNDFONTS=opl3 accepted the Csound GM tracks"
grep -q "^  train/OpenMSX - 5 4 3 2 Gone \[Csound GM\]$" "$T/make2.log" || { cat "$T/make2.log"; fail "stale tracks not listed"; }
head -n 1 "$T/valid.want" | cmp -s "$o/valid.txt" - || { cat "$o/valid.txt"; fail "valid.txt with one SoundFont"; }
[ "$(grep -c '^full: rendering' "$T/make2.log")" = 1 ] || { cat "$T/make2.log"; fail "the second run did not render exactly the one variant"; }
grep -q '^full: rendering 5432gone_redfarn.opl3.1 -> .*/train/OpenMSX - 5 4 3 2 Gone \[OPL3 FM, [+-][1-3] st, [01]\.[0-9][02468]x\]$' "$T/make2.log" ||
  { cat "$T/make2.log"; fail "variant track name"; }
grep -q "^5432gone_redfarn	opl3	1	-*[1-3]	[01]\.[0-9][02468]	train	OpenMSX - 5 4 3 2 Gone \[OPL3 FM, " "$o/tracks.tsv" || { cat "$o/tracks.tsv"; fail "tracks.tsv: variant line"; }

# 4. midisplit's variation: notes move by N semitones (drums do not), tempo
#    events are divided by F (and one is added at tick 0 when there is none)
ms="$o/.bin/midisplit"
"$ms" "$midi/5432gone_redfarn.mid" "$T/a"
"$ms" --transpose -2 --tempo 1.25 "$midi/5432gone_redfarn.mid" "$T/b"
"$PYTHON" - "$T/a" "$T/b" <<'PY'
import sys
def scan(path):
    """(tempo values, note-on pitches by channel) of a format-0 file from midisplit"""
    d = open(path, "rb").read()
    assert d[:4] == b"MThd" and d[14:18] == b"MTrk"
    i, tempos, notes, run = 22, [], {}, 0
    while i < len(d):
        while d[i] & 0x80: i += 1
        i += 1                              # delta time
        b = d[i]
        if b in (0xf0, 0xf7):               # sysex: varlen length, data
            i, n = i + 1, 0
            while True:
                n, i = (n << 7) | (d[i] & 0x7f), i + 1
                if not d[i - 1] & 0x80: break
            i += n
            continue
        if b == 0xff:
            t, n = d[i + 1], d[i + 2]      # lengths < 128 here
            if t == 0x51: tempos.append(int.from_bytes(d[i + 3:i + 6], "big"))
            i += 3 + n
            continue
        if b & 0x80: run, i = b, i + 1
        k = 1 if run & 0xf0 in (0xc0, 0xd0) else 2
        if run & 0xf0 == 0x90 and d[i + 1]: notes.setdefault(run & 15, []).append(d[i])
        i += k
    return tempos, notes
for role in ["drums", "other", "vocals"]:
    (ta, na), (tb, nb) = scan(sys.argv[1] + "." + role + ".mid"), scan(sys.argv[2] + "." + role + ".mid")
    assert len(tb) >= 1 and len(tb) in (len(ta), len(ta) + 1), (role, ta, tb)
    for x, y in zip(ta[::-1], tb[::-1]):
        assert abs(y - x / 1.25) <= 1, (role, x, y)
    assert na.keys() == nb.keys(), role
    for ch in na:
        shift = 0 if ch == 9 else -2
        assert [p + shift for p in na[ch]] == nb[ch], (role, ch)
print("transpose and tempo ok")
PY
for bad in "--transpose 13" "--tempo 0.4" "--tempo x" "--bass 10"; do
  # shellcheck disable=SC2086 # the option and its value
  if "$ms" $bad "$midi/5432gone_redfarn.mid" "$T/c" 2>"$T/err"; then fail "midisplit accepted $bad"; fi
  [ -s "$T/err" ] || fail "midisplit $bad: no message"
done
echo "ok: full data set plan, layout, exact sums, resume, variations"
