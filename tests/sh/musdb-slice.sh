#!/bin/sh
# musdb-slice end to end on a tiny MUSDB18-HQ tree made by tests/helpers/musdb_fixture:
# stems against the files (musdb_verify reads them with libsndfile on its own), byte-identical
# random streams, segments, plain files of several formats and rates, augmentation attributes,
# every bad-data case with its message, usage errors, --list, a closed pipe.
set -u
H="$BUILD/tests/helpers"
MS="$BIN/musdb-slice"
V="$H/musdb_verify"
[ -x "$MS" ] && [ -x "$H/musdb_fixture" ] && [ -x "$V" ] || { echo "musdb-slice or its helpers not built" >&2; exit 1; }
cd "$TMPDIR" || exit 1
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
expect() { # expect WHAT STATUS NEEDLE cmd... : exit status and a needle in stderr
    what=$1 want=$2 needle=$3; shift 3
    "$@" >out.bin 2>err.txt; st=$?
    if [ "$st" -ne "$want" ]; then bad "$what: exit $st, want $want: $(cat err.txt)"; return; fi
    if [ -n "$needle" ] && ! grep -qF -- "$needle" err.txt; then bad "$what: stderr lacks '$needle': $(cat err.txt)"; return; fi
    ok "$what"
}

"$H/musdb_fixture" tree db 1.2 || exit 1

# --help lists every option; usage errors exit 2.
"$MS" --help >help.txt || bad "--help"
for o in --split --stems --track --list --skip-bad --segment --overlap --pad --random --count --seed --mixture \
         --gain-prob --gain --swap-prob --remix-prob --stretch-prob --stretch --pitch-prob --pitch --mixup-prob \
         --mixup-alpha --threads --quiet --help; do
    grep -q -- "$o" help.txt || bad "--help does not mention $o"
done
expect "no argument" 2 "missing ROOT" "$MS"
expect "bad split" 2 "--split" "$MS" --split tset db
expect "bad stem" 2 "guitar" "$MS" --stems vocals,guitar db
expect "bad option" 2 "" "$MS" --frobnicate db
expect "overlap >= segment" 2 "--overlap" "$MS" --segment 1 --overlap 1 db
expect "bad probability" 2 "--gain-prob" "$MS" --gain-prob 1.5 db
expect "stems with plain files" 2 "--stems" "$MS" --stems vocals db/test/Gamma*/mixture.wav

# --list: the splits.
"$MS" --list --split all db >list.txt || bad "--list"
[ "$(grep -c '^valid' list.txt)" = 2 ] && [ "$(grep -c '^train' list.txt)" = 2 ] && [ "$(grep -c '^test' list.txt)" = 2 ] \
    && ok "--list: 2 train, 2 valid, 2 test" || bad "--list: $(cat list.txt)"
"$MS" --list --split valid db | grep -q "Actions - One Minute Smile" && ok "valid holds an official track" || bad "valid"
"$MS" --list --split train db | grep -q "Actions" && bad "train includes a validation track" || ok "train excludes valid"

# Done when: test split, vocals + other (= drums + bass + other) against the files.
r=$("$MS" --split test --stems vocals,other db | "$V" db vocals,other) && [ "$r" = "2 records ok" ] \
    && ok "test split, vocals,other: $r" || bad "test vocals,other: $r"
r=$("$MS" --split all --segment 0.5 --overlap 0.1 db | "$V" db vocals,drums,bass,other) \
    && ok "segments with overlap: $r" || bad "segments: $r"
r=$("$MS" --split train,valid --segment 0.7 --pad --stems accompaniment,vocals db | "$V" db accompaniment,vocals) \
    && ok "padded segments, accompaniment: $r" || bad "pad: $r"
r=$("$MS" --split all --random --segment 0.3 --count 30 --seed 5 --stems drums,other db | "$V" db drums,other) \
    && ok "random segments: $r" || bad "random: $r"
r=$("$MS" --split all --random --segment 0.3 --count 10 --mixture file --stems bass db | "$V" db bass) \
    && ok "random, mixture from file: $r" || bad "mixture file: $r"
# Segment lengths: the 1.57 s (69237 frames) track in 0.5 s segments -> 22050, 22050, 22050, 3087.
"$MS" --track Alpha --segment 0.5 db | "$V" --describe >seg.txt
[ "$(cut -d'|' -f2-4 seg.txt | tr '\n' ' ')" = "0|22050|22050 22050|22050|22050 44100|22050|22050 66150|3087|3087 " ] \
    && ok "segment boundaries" || bad "segment boundaries: $(cat seg.txt)"
"$MS" --track Alpha --segment 0.5 --pad db | "$V" --describe >seg.txt
[ "$(tail -n 1 seg.txt | cut -d'|' -f2-4)" = "66150|3087|22050" ] && ok "--pad: length 3087 of 22050" \
    || bad "--pad: $(cat seg.txt)"

# Determinism: --random --seed 1 is byte-identical across runs; another seed differs.
# (The tracks are shorter than 6 s, so those segments are zero-padded: 6 s shows that too.)
"$MS" --random --segment 0.2 --count 100 --seed 1 db | cksum >a.sum
"$MS" --random --segment 0.2 --count 100 --seed 1 db | cksum >b.sum
"$MS" --random --segment 0.2 --count 100 --seed 2 db | cksum >c.sum
"$MS" --random --segment 6 --count 4 --seed 1 db | cksum >a6.sum
"$MS" --random --segment 6 --count 4 --seed 1 db | cksum >b6.sum
cmp -s a6.sum b6.sum && ok "6 s segments: same seed, same bytes" || bad "6 s segments differ"
cmp -s a.sum b.sum && ok "same seed: same bytes" || bad "same seed differs"
cmp -s a.sum c.sum && bad "another seed gives the same bytes" || ok "another seed: other data"
AUG="--gain-prob 1 --swap-prob 0.5 --remix-prob 0.5 --mixup-prob 0.3 --pitch-prob 0.5 --stretch-prob 0.5"
"$MS" --random --segment 0.2 --count 4 --seed 3 $AUG db | cksum >a.sum
"$MS" --random --segment 0.2 --count 4 --seed 3 $AUG db | cksum >b.sum
cmp -s a.sum b.sum && ok "augmented: same seed, same bytes" || bad "augmented stream not reproducible"
"$MS" --random --segment 0.2 --count 4 --seed 3 $AUG --threads 3 db | cksum >c.sum
cmp -s a.sum c.sum && ok "--threads 3: the same bytes" || bad "--threads changes the stream"

# Gain, swap, remix and mixup replayed from the attributes against the files, exactly.
for a in "--gain-prob 1 --swap-prob 0.5" "--remix-prob 1" "--mixup-prob 1 --mixup-alpha 0.5" \
         "--gain-prob 0.5 --swap-prob 0.5 --remix-prob 0.5 --mixup-prob 0.5"; do
    r=$("$MS" --split all --random --segment 0.3 --count 12 $a --stems vocals,other db | "$V" db vocals,other) \
        && [ "$r" = "12 records ok" ] && ok "$a: $r" || bad "$a: $r"
done
r=$("$MS" --split train --segment 0.5 --gain-prob 1 --stems drums,bass,other db | "$V" db drums,bass,other) \
    && ok "sequential with gain: $r" || bad "sequential gain: $r"

# Augmentation attributes and lengths.
"$MS" --random --segment 0.2 --count 2 --stretch-prob 1 --stretch 1.1,1.1 db | "$V" --describe >st.txt
[ "$(cut -d'|' -f4 st.txt | sort -u)" = 8820 ] && grep -q "source_length=9702 aug_tempo=1.1 " st.txt \
    && ok "stretch 1.1: 8820 frames from 9702" || bad "stretch: $(cat st.txt)"
"$MS" --random --segment 0.2 --count 2 --pitch-prob 1 --pitch 2 --gain-prob 1 db | "$V" --describe >pt.txt
grep -q "aug_pitch=" pt.txt && grep -q "aug_gain=" pt.txt && ok "pitch and gain attributes" || bad "pitch: $(cat pt.txt)"

# Plain files of several formats and rates.
"$H/musdb_fixture" tone a.wav 44100 2 1.0 440 && "$H/musdb_fixture" tone b.flac 48000 1 0.5 440 &&
"$H/musdb_fixture" tone c.ogg 22050 2 0.5 440 && "$H/musdb_fixture" tone d.aiff 32000 2 0.25 440 || exit 1
"$MS" a.wav b.flac c.ogg d.aiff | "$V" --describe >plain.txt
[ "$(cut -d'|' -f1,4,5 plain.txt | tr '\n' ' ')" = "a|44100|mixture b|22050|mixture c|22050|mixture d|11025|mixture " ] \
    && ok "plain files: WAV, FLAC 48k mono, OGG 22.05k, AIFF 32k at 44.1 kHz" || bad "plain: $(cat plain.txt)"
sed -n 2p plain.txt | grep -q "L==R" && ok "mono made stereo" || bad "mono: $(cat plain.txt)"
n=$("$MS" --segment 0.3 a.wav | "$V" --describe | wc -l) && [ "$n" = 4 ] && ok "plain file in segments" || bad "plain segments: $n"
"$H/musdb_fixture" tone six.wav 44100 6 0.1 440
expect "6 channels" 1 "six.wav: 6 channels" "$MS" six.wav
expect "missing file" 1 "nothing.wav" "$MS" nothing.wav

# Bad data in a MUSDB tree: a clear error naming the file; --skip-bad warns and goes on.
T="db/train/Beta - Second Song"
mv "$T/bass.wav" bass.keep
expect "missing stem" 1 "$T/bass.wav: missing stem file" "$MS" --split train db
expect "missing stem, --skip-bad" 0 "track skipped" "$MS" --skip-bad --split train db
"$H/musdb_fixture" tone "$T/bass.wav" 44100 2 0.5 55
expect "short stem" 1 "$T/bass.wav: 22050 frames" "$MS" --split train db
"$H/musdb_fixture" tone "$T/bass.wav" 48000 2 1.57 55
expect "other rate" 1 "$T/bass.wav: sample rate 48000 Hz differs" "$MS" --split train db
echo "not audio" >"$T/bass.wav"
expect "unreadable" 1 "$T/bass.wav: cannot read audio" "$MS" --split train db
mv bass.keep "$T/bass.wav"
mkdir "db/train/Stray Folder"
expect "not a track" 1 "Stray Folder: not a MUSDB18 track" "$MS" --split train db
expect "not a track, --skip-bad" 0 "track skipped" "$MS" --skip-bad --split train db
rmdir "db/train/Stray Folder"
expect "repaired" 0 "" "$MS" --split train db
mkdir notroot
expect "folder that is not a root" 1 "not a MUSDB18 folder" "$MS" notroot

# A closed pipe downstream ends an endless --random quietly.
{ "$MS" --random --segment 0.1 db 2>pipe.err; echo $? >pipe.rc; } | head -c 100000 >/dev/null
[ "$(cat pipe.rc)" = 0 ] && [ ! -s pipe.err ] && ok "closed pipe: exit 0, quiet" || bad "closed pipe: $(cat pipe.rc) $(cat pipe.err)"

exit $fail
