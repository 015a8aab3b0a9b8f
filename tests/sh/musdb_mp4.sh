#!/bin/sh
# MUSDB18 as distributed: a root of <track>.stem.mp4 files (five AAC
# streams: mixture, drums, bass, other, vocals), made here with ffmpeg from
# three tracks of the demo data set (4 s each), against its WAV twin (every stream
# decoded by the ffmpeg tool itself, -map 0:N, as 32-bit float):
# - golden: musdb-slice's whole tracks equal ffmpeg's float decode sample for
#   sample, and ffmpeg's default 16-bit WAV to within its rounding (0.5 LSB);
# - musdb-slice gives byte-identical streams on both roots for the splits
#   (valid.txt), --stems, --track, sequential segments, random segments with
#   every augmentation, --threads, --mixture sum, --list; with --fast-seek
#   too where the encoder coded no band as noise (-aac_pns 0);
# - training (two steps), separation and sdr --references (derived targets
#   too) give the same checkpoint, estimates and scores on both roots (the
#   oracle mask separates under the sanitizers);
# - bad input: a truncated file, a stem stream missing, a non-audio file, a
#   file with no audio: exit 1, one line naming the file, nothing on stdout.
set -u
cd "$TMPDIR" || exit 1
die() { echo "FAIL: $*" >&2; exit 1; }
command -v ffmpeg > /dev/null || { echo "skip: ffmpeg not installed (make deps)"; exit 77; }
"$PYTHON" -c 'import numpy' 2> /dev/null || { echo "skip: numpy is missing for $PYTHON (make deps installs python3-numpy)"; exit 77; }
S=$BIN/musdb-slice
FF="ffmpeg -nostdin -hide_banner -loglevel error -y"

# Three tracks of the demo data set (examples/data/musdb-demo), cut to 4 s;
# rendered here (4 s excerpts, as tests/sh/demo_data.sh does) when the data
# set has not been made in this checkout.
demo=$TOP/examples/data/musdb-demo
if [ -f "$demo/valid.txt" ] && [ -d "$demo/test" ]; then
    valid=$(grep -v '^#' "$demo/valid.txt" | head -n 1)
    train=$(ls "$demo/train" | grep -v -x -F -f "$demo/valid.txt" | head -n 1)
    test=$(ls "$demo/test" | head -n 1)
else
    command -v fluidsynth > /dev/null || { echo "skip: no demo data and no fluidsynth to render it (make deps)"; exit 77; }
    demo=$PWD/demo
    make -s -C "$TOP/examples/data" OUT="$demo" TRAIN=be_sharp_bw_redfarn VALID=train_filled_with_cash \
        TEST=busy_schedule EXCERPT=4 TEST_EXCERPT=4 > render.log 2>&1 || { cat render.log; die "rendering demo tracks"; }
    valid="OpenMSX - Train Filled with Cash" train="OpenMSX - Be Sharp Boogie" test="OpenMSX - Busy Schedule"
fi
[ -n "$valid" ] && [ -n "$train" ] && [ -n "$test" ] || die "demo data: no train, valid or test track in $demo"

# ROOT/{train,test}/<track>.stem.mp4, and the twin: each stream as ffmpeg decodes it
mkdir -p mp4/train mp4/test nopns/test
printf '# validation\n%s\n' "$valid" > mp4/valid.txt
stems="mixture drums bass other vocals"
for t in "train/$train" "train/$valid" "test/$test"; do
    d="$demo/$t"
    $FF -i "$d/mixture.wav" -i "$d/drums.wav" -i "$d/bass.wav" -i "$d/other.wav" -i "$d/vocals.wav" \
        -map 0 -map 1 -map 2 -map 3 -map 4 -t 4 -c:a aac -b:a 256k "mp4/$t.stem.mp4" || die "ffmpeg: encoding $t"
    mkdir -p "wav/$t" "s16/$t"
    n=0
    for s in $stems; do
        $FF -i "mp4/$t.stem.mp4" -map 0:$n -c:a pcm_f32le "wav/$t/$s.wav" || die "ffmpeg: decoding $t stream $n"
        $FF -i "mp4/$t.stem.mp4" -map 0:$n "s16/$t/$s.wav" || die "ffmpeg: decoding $t stream $n to 16-bit"
        n=$((n + 1))
    done
done
cp mp4/valid.txt wav/valid.txt
d="$demo/test/$test"
$FF -i "$d/mixture.wav" -i "$d/drums.wav" -i "$d/bass.wav" -i "$d/other.wav" -i "$d/vocals.wav" \
    -map 0 -map 1 -map 2 -map 3 -map 4 -t 4 -c:a aac -b:a 256k -aac_pns 0 "nopns/test/$test.stem.mp4" || die "ffmpeg: -aac_pns 0"

# golden: whole tracks against ffmpeg's own decode
"$S" -q --split all mp4 > whole.ts 2> e.txt || die "musdb-slice on the .stem.mp4 root: $(cat e.txt)"
"$PYTHON" - whole.ts <<'PY' || die "whole tracks differ from ffmpeg's decode"
import os, sys
sys.path.insert(0, os.environ["TOP"] + "/examples/python")
import numpy as np, tfswa_stream as ts

sys.path.insert(0, os.environ["TOP"] + "/tests/helpers")
from wav import wav  # the tests' WAV reader

recs = list(ts.read(open(sys.argv[1], "rb")))
assert len(recs) == 3, len(recs)
for attrs, t in recs:
    d = "%s/%s" % ("test" if attrs["split"] == "test" else "train", attrs["track"])
    for s in ["mixture", "vocals", "drums", "bass", "other"]:
        ref = wav("wav/%s/%s.wav" % (d, s))
        got = t[s].astype(np.float64)
        assert got.shape == ref.shape, (d, s, got.shape, ref.shape)
        assert np.array_equal(got, ref), (d, s, "max |diff|", np.abs(got - ref).max())
        # ffmpeg's default WAV (16-bit): the same samples rounded to 1/32768, clipped at full scale
        q = wav("s16/%s/%s.wav" % (d, s))
        inside = np.abs(got) < 32767 / 32768
        err = np.abs(q - got)[inside].max()
        assert err <= 0.5 / 32768 + 1e-9, (d, s, "16-bit: max |diff| %g LSB" % (err * 32768))
    assert int(attrs["length"]) == t["mixture"].shape[1]
print("golden: %d tracks, 5 streams each, equal to ffmpeg's decode" % len(recs))
PY

# the same bytes from both roots
same() { # name, musdb-slice options...
    name=$1; shift
    "$S" -q "$@" mp4 > "a.$name" 2> e.txt || die "$name: musdb-slice on the .stem.mp4 root: $(cat e.txt)"
    "$S" -q "$@" wav > "b.$name" 2> e.txt || die "$name: musdb-slice on the WAV twin: $(cat e.txt)"
    [ -s "a.$name" ] || die "$name: no output"
    cmp -s "a.$name" "b.$name" || die "$name: the .stem.mp4 root and its WAV twin give different bytes"
}
same train --split train
same valid --split valid
same test --split test -S vocals,accompaniment
same track --split all --track 'OpenMSX*' -S vocals,other
same seq --split all --segment 1.5 --overlap 0.5 --pad
same rand --split train,valid --random --segment 1 --count 8 --seed 5 --gain-prob .5 --swap-prob .5 \
    --remix-prob .5 --stretch-prob .3 --pitch-prob .3 --mixup-prob .3 --threads 2
same sum --split test --mixture sum --segment 2
same list --split all --list
[ "$(wc -l < a.list)" = 3 ] && grep -q "^valid	$valid	4.0" a.list || die "--list: $(cat a.list)"
"$S" -q --split test --random --segment 1 --count 6 --seed 9 --fast-seek nopns > a.fast || die "--fast-seek"
"$S" -q --split test --random --segment 1 --count 6 --seed 9 nopns > b.fast || die "without --fast-seek"
cmp -s a.fast b.fast || die "--fast-seek without PNS: not the samples of a decode from the start"

# train, separate, score: the same on both roots. The model runs in the
# normal variant; under the sanitizers (minutes there, and no audio code in
# it) the oracle mask separates instead.
N=$BIN/tfswa-net
"$N" --init -q -m m0.ckpt --preset tiny --dims 8,8,16,16 --heads 2 --window 4 --depths 1,1,1,1 --n-fft 256 \
    --hop 64 --stems vocals,other --seed 1 || die "--init"
for r in mp4 wav; do
    if [ "${VARIANT:-normal}" = normal ]; then
        cp m0.ckpt "$r.ckpt"
        "$S" -q --split train --random --segment 0.5 --count 4 --seed 2 -S vocals,other $r | "$BIN/stft" -q -n 256 -H 64 |
            "$N" --train -q -j 1 --batch-size 2 --steps 2 --save-every 0 -m "$r.ckpt" 2> e.txt || die "$r: --train: $(cat e.txt)"
        sep() { "$N" -q -j 1 -m "$r.ckpt"; }
    else
        sep() { "$BIN/oracle" -q; }
    fi
    "$S" -q --split test -S vocals,other $r | "$BIN/stft" -q -n 256 -H 64 | sep |
        "$BIN/istft" -q --no-stream --wav "est.$r/test" 2> e.txt || die "$r: separation: $(cat e.txt)"
    "$BIN/sdr" -q --references $r --estimates "est.$r" --split test --csv "$r.csv" > /dev/null 2> e.txt || die "$r: sdr: $(cat e.txt)"
done
if [ "${VARIANT:-normal}" = normal ]; then
    "$BIN/tsinfo" mp4.ckpt | grep -q 'train_step = 2' || die "--train: no step 2 in the checkpoint"
    cmp -s mp4.ckpt wav.ckpt || die "training on the .stem.mp4 root gave another checkpoint than on the WAV twin"
fi
[ "$(find est.mp4 -name '*.wav' | wc -l)" = 2 ] || die "separation: $(find est.mp4)"
diff -r est.mp4 est.wav > /dev/null || die "separation: other estimates"
[ "$(wc -l < mp4.csv)" = 3 ] && cmp -s mp4.csv wav.csv || die "sdr --references: $(cat mp4.csv wav.csv)"
# the derived targets (accompaniment, linear_mixture) summed as from the WAV files
mkdir -p estd/test && cp -r "est.mp4/test/$test" estd/test/
for s in accompaniment linear_mixture drums; do cp "estd/test/$test/vocals.wav" "estd/test/$test/$s.wav"; done
for r in mp4 wav; do
    "$BIN/sdr" -q --references $r --estimates estd --split test --csv "d$r.csv" > /dev/null 2> e.txt || die "$r: sdr, derived: $(cat e.txt)"
done
[ "$(wc -l < dmp4.csv)" = 6 ] && cmp -s dmp4.csv dwav.csv || die "sdr --references, derived targets: $(cat dmp4.csv dwav.csv)"

# bad input: exit 1, one line that names the file, no output
bad() { # what, file, needle, command...
    what=$1 file=$2 needle=$3; shift 3
    "$@" > out.bin 2> e.txt
    rc=$?
    [ $rc -eq 1 ] || die "$what: exit $rc, not 1 ($(cat e.txt))"
    [ "$(wc -l < e.txt)" = 1 ] && grep -q -F "$file" e.txt && grep -q -e "$needle" e.txt || die "$what: message: $(cat e.txt)"
    [ -s out.bin ] && die "$what: wrote output"
    return 0
}
m="mp4/test/$test.stem.mp4"
mkdir -p b1/test b2/test b3/test
head -c 100000 "$m" > "b1/test/x.stem.mp4"
bad "truncated" "b1/test/x.stem.mp4" "truncated" "$S" --split test b1
$FF -i "$m" -map 0 -c copy -movflags +faststart fast.mp4 || die "ffmpeg: faststart"
head -c $(($(wc -c < fast.mp4) * 2 / 3)) fast.mp4 > "b1/test/x.stem.mp4"
bad "truncated (index first)" "b1/test/x.stem.mp4" "truncated" "$S" --split test b1
$FF -i "$m" -map 0:0 -map 0:1 -map 0:2 -map 0:3 -c copy "b2/test/y.stem.mp4" || die "ffmpeg: 4 streams"
bad "stem stream missing" "b2/test/y.stem.mp4" "4 audio streams" "$S" --split test b2
mkdir -p estb/test && cp -r "est.mp4/test/$test" estb/test/y
bad "sdr: stem stream missing" "y.stem.mp4" "stream 4 missing" "$BIN/sdr" -q --references b2 --estimates estb
echo "not audio" > "b3/test/z.stem.mp4"
bad "non-audio .stem.mp4" "b3/test/z.stem.mp4" "not a media file" "$S" --split test b3
echo "not audio" > notes.txt
bad "non-audio file" "notes.txt" "cannot read audio" "$S" notes.txt
$FF -f lavfi -i color=c=black:s=16x16:d=1 -c:v mpeg4 video.mp4 || die "ffmpeg: video"
bad "no audio stream" "video.mp4" "no audio stream" "$S" video.mp4
exit 0
