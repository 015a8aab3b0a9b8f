#!/bin/sh
# Any audio in, chosen audio out:
# - plain files in: an M4A (AAC) reads as ffmpeg decodes it, sample for
#   sample; an MP3 (libsndfile) as ffmpeg decodes it to within 1e-4 (two
#   MP3 decoders, same length); an Ogg Opus at 48 kHz is resampled to 44.1;
# - an MP3 goes in and FLAC stems (and an Open-Unmix residual) come out of
#   musdb-slice | stft | tfswa-net | istft --format flac, read back by
#   ffmpeg: the estimates of the stream, rounded to 16 bits;
# - istft --format for every format, read back by ffmpeg (codec, rate,
#   length; lossless ones to their rounding, lossy ones above 10 dB SNR);
# - --clip as Demucs's prevent_clip (rescale: x / (1.01 peak); clamp: +-0.99;
#   none), checked in numpy, and said on stderr only when it changes a file;
# - --residual = mixture - the estimates, exactly in float;
# - errors: unknown --format, --residual without --wav or without a mixture,
#   a residual named like an estimate, --format mp3 at a channel count MP3
#   cannot hold.
set -u
cd "$TMPDIR" || exit 1
die() { echo "FAIL: $*" >&2; exit 1; }
command -v ffmpeg > /dev/null || { echo "skip: ffmpeg not installed (make deps)"; exit 77; }
"$PYTHON" -c 'import numpy' 2> /dev/null || { echo "skip: numpy is missing for $PYTHON (make deps installs python3-numpy)"; exit 77; }
FF="ffmpeg -nostdin -hide_banner -loglevel error -y"
S=$BIN/musdb-slice
I=$BIN/istft
export TOP

# a 3 s stereo test signal: two tones and noise, made by ffmpeg
$FF -f lavfi -i "sine=f=440:r=44100:d=3" -f lavfi -i "sine=f=1250:r=44100:d=3" \
    -f lavfi -i "anoisesrc=c=pink:r=44100:d=3:a=0.1:seed=7" \
    -filter_complex "[0][2]amix=inputs=2:normalize=0[l];[1][2]amix=inputs=2:normalize=0[r];[l][r]join=inputs=2:channel_layout=stereo[o]" \
    -map "[o]" -c:a pcm_f32le src.wav || die "ffmpeg: test signal"
$FF -i src.wav -c:a aac -b:a 192k song.m4a || die "ffmpeg: m4a"
$FF -i src.wav -c:a libmp3lame -b:a 192k song.mp3 || die "ffmpeg: mp3"
$FF -i src.wav -ar 48000 -c:a libopus -b:a 128k song.opus || die "ffmpeg: opus"
for f in m4a mp3; do $FF -i song.$f -c:a pcm_f32le ff_$f.wav || die "ffmpeg: decoding $f"; done

cp "$TOP/tests/helpers/wav.py" wav.py # the tests' WAV reader

# plain files in
for f in m4a mp3 opus; do
    "$S" -q song.$f > in_$f.ts 2> e.txt || die "musdb-slice song.$f: $(cat e.txt)"
done
"$PYTHON" - <<'PY' || die "plain files in"
import os, sys
sys.path.insert(0, os.environ["TOP"] + "/examples/python"); sys.path.insert(0, ".")
import numpy as np, tfswa_stream as ts
from wav import wav
def mix(name):
    (a, t), = list(ts.read(open(name, "rb")))
    return a, t["mixture"].astype(np.float64)
a, x = mix("in_m4a.ts")
ref = wav("ff_m4a.wav")
assert a["track"] == "song" and x.shape == ref.shape, (x.shape, ref.shape)
assert np.array_equal(x, ref), np.abs(x - ref).max()
a, x = mix("in_mp3.ts")
ref = wav("ff_mp3.wav")
assert x.shape == ref.shape, (x.shape, ref.shape)
assert np.abs(x - ref).max() < 1e-4, np.abs(x - ref).max()
a, x = mix("in_opus.ts")
src = wav("src.wav")
assert x.shape == src.shape, (x.shape, src.shape)   # 48 kHz back to 44.1: the original length
snr = 10 * np.log10(np.sum(src ** 2) / np.sum((x - src) ** 2))
assert snr > 10, snr
PY

# MP3 in, FLAC stems out (a tiny untrained model; n_fft 256)
N=$BIN/tfswa-net
"$N" --init -q -m m.ckpt --preset tiny --dims 8,8,16,16 --heads 2 --window 4 --depths 1,1,1,1 --n-fft 256 \
    --hop 64 --stems vocals,other --seed 1 || die "--init"
"$BIN/stft" -q -n 256 -H 64 < in_mp3.ts | "$N" -q -j 1 -m m.ckpt |
    "$I" -q --format flac --residual rest --wav out > sep.ts 2> e.txt || die "mp3 -> flac: $(cat e.txt)"
for s in vocals other rest; do
    [ -f "out/song/$s.flac" ] || die "out/song/$s.flac missing: $(ls -R out)"
    [ "$(ffprobe -v error -show_entries stream=codec_name,sample_rate,channels -of csv=p=0 "out/song/$s.flac")" = "flac,44100,2" ] ||
        die "$s.flac: $(ffprobe -v error -show_entries stream=codec_name,sample_rate,channels -of csv=p=0 "out/song/$s.flac")"
    $FF -i "out/song/$s.flac" -c:a pcm_f32le "flac_$s.wav" || die "ffmpeg: decoding $s.flac"
done
[ "$(find out -type f | wc -l)" = 3 ] || die "unexpected files: $(find out -type f)"
"$PYTHON" - <<'PY' || die "FLAC contents"
import os, sys
sys.path.insert(0, os.environ["TOP"] + "/examples/python"); sys.path.insert(0, ".")
import numpy as np, tfswa_stream as ts
from wav import wav
(a, t), = list(ts.read(open("sep.ts", "rb")))
def clip(x):  # demucs.audio.prevent_clip(x, "rescale"), in float32
    return x / max(np.float32(1.01) * np.abs(x).max(), 1)
est = {s: t["est/" + s] for s in ("vocals", "other")}
est["rest"] = (t["mixture"] - est["vocals"]) - est["other"]
for s, x in est.items():
    y = wav("flac_%s.wav" % s)
    x = clip(x.astype(np.float32)).astype(np.float64)
    assert y.shape == x.shape, (s, y.shape, x.shape)
    err = np.abs(y - x).max() * 32768
    assert err <= 0.5 + 1e-3, (s, "max |diff| %g LSB" % err)
PY

# every format, read back by ffmpeg
"$PYTHON" - <<'PY' || die "making the test streams"
import os, sys
sys.path.insert(0, os.environ["TOP"] + "/examples/python")
import numpy as np, tfswa_stream as ts
n = 44100
t = np.arange(n) / 44100.0
x = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.4 * np.sin(2 * np.pi * 660 * t + 1)]).astype(np.float32)
ts.write(open("tone.ts", "wb"), [({"track": "tone", "rate": 44100}, {"mixture": x, "est/tone": x})])
loud = x * np.float32(3)                      # peak 1.5
ts.write(open("loud.ts", "wb"), [({"track": "l", "rate": 44100},
                                  {"mixture": loud + x, "est/loud": loud, "est/quiet": x})])
ts.write(open("nomix.ts", "wb"), [({"track": "n", "rate": 44100}, {"est/a": x})])
ts.write(open("six.ts", "wb"), [({"track": "six", "rate": 44100}, {"est/a": np.zeros((6, 100), np.float32)})])
PY
for f in wav wav24 float flac ogg opus mp3 .flac; do
    "$I" -q --format $f --clip none --no-stream --wav "fmt_$f" < tone.ts 2> e.txt || die "--format $f: $(cat e.txt)"
done
"$PYTHON" - <<'PY' || die "formats read back by ffmpeg"
import os, subprocess, sys
sys.path.insert(0, "."); sys.path.insert(0, os.environ["TOP"] + "/examples/python")
import numpy as np, tfswa_stream as ts
from wav import wav
(_, t), = list(ts.read(open("tone.ts", "rb")))
x = t["est/tone"].astype(np.float64)
want = {"wav": ("wav", "pcm_s16le", 44100, 0.5 / 32768), "wav24": ("wav", "pcm_s24le", 44100, 0.5 / 8388608),
        "float": ("wav", "pcm_f32le", 44100, 0), "flac": ("flac", "flac", 44100, 0.5 / 32768),
        ".flac": ("flac", "flac", 44100, 0.5 / 32768), "ogg": ("ogg", "vorbis", 44100, None),
        "opus": ("opus", "opus", 48000, None), "mp3": ("mp3", "mp3", 44100, None)}
for f, (ext, codec, rate, tol) in want.items():
    path = "fmt_%s/tone/tone.%s" % (f, ext)
    assert os.path.exists(path), path
    info = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate,channels",
                           "-of", "csv=p=0", path], capture_output=True, text=True).stdout.strip()
    assert info == "%s,%d,2" % (codec, rate), (f, info)
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", path, "-ar", "44100", "-c:a",
                    "pcm_f32le", "back.wav"], check=True)
    y = wav("back.wav")
    if tol is not None:
        assert y.shape == x.shape and np.abs(y - x).max() <= tol + 1e-9, (f, y.shape, np.abs(y - x).max())
    else:
        n = min(x.shape[1], y.shape[1])
        assert abs(y.shape[1] - x.shape[1]) < 0.05 * 44100, (f, y.shape)
        snr = 10 * np.log10(np.sum(x[:, :n] ** 2) / np.sum((x[:, :n] - y[:, :n]) ** 2))
        assert snr > 10, (f, snr)
PY

# --clip, as Demucs's prevent_clip
for m in rescale clamp none; do
    "$I" -q --format float --clip $m --wav-all --no-stream --wav "clip_$m" < loud.ts 2> "clip_$m.txt" || die "--clip $m"
done
"$I" -q --clip none --no-stream --wav clip_16 < loud.ts 2> /dev/null || die "--clip none, 16-bit"
grep -q 'loud.wav: peak 1.5.*rescaled' clip_rescale.txt || die "--clip rescale not said: $(cat clip_rescale.txt)"
grep -q 'loud.wav: peak 1.5.*clamped' clip_clamp.txt || die "--clip clamp not said: $(cat clip_clamp.txt)"
grep -q 'quiet' clip_rescale.txt clip_clamp.txt && die "a file left alone was reported"
grep -q -e rescaled -e clamped clip_none.txt && die "--clip none said something: $(cat clip_none.txt)"
"$PYTHON" - <<'PY' || die "--clip contents"
import os, sys
sys.path.insert(0, "."); sys.path.insert(0, os.environ["TOP"] + "/examples/python")
import numpy as np, tfswa_stream as ts
from wav import wav
(_, t), = list(ts.read(open("loud.ts", "rb")))
loud, quiet, mix = t["est/loud"], t["est/quiet"], t["mixture"]
f32 = np.float32
def r(name): return wav(name).astype(np.float32)
assert np.array_equal(r("clip_rescale/l/loud.wav"), loud / (f32(1.01) * np.abs(loud).max()))
assert np.array_equal(r("clip_rescale/l/ref/mixture.wav"), mix / (f32(1.01) * np.abs(mix).max()))
assert np.array_equal(r("clip_rescale/l/quiet.wav"), quiet)
assert np.array_equal(r("clip_clamp/l/loud.wav"), np.clip(loud, f32(-0.99), f32(0.99)))
assert np.array_equal(r("clip_clamp/l/quiet.wav"), quiet)
assert np.array_equal(r("clip_none/l/loud.wav"), loud)
y = wav("clip_16/l/loud.wav")
assert np.abs(y).max() <= 1 and np.isclose(y.max(), 32767 / 32768) and np.isclose(y.min(), -1), (y.min(), y.max())
PY

# --residual in float: mixture - loud - quiet
"$I" -q --format float --clip none --residual rest --no-stream --wav res < loud.ts || die "--residual"
"$PYTHON" - <<'PY' || die "--residual contents"
import os, sys
sys.path.insert(0, "."); sys.path.insert(0, os.environ["TOP"] + "/examples/python")
import numpy as np, tfswa_stream as ts
from wav import wav
(_, t), = list(ts.read(open("loud.ts", "rb")))
want = (t["mixture"] - t["est/loud"]) - t["est/quiet"]
assert np.array_equal(wav("res/l/rest.wav").astype(np.float32), want)
PY

# errors
"$I" --format aiff --wav e1 < tone.ts > /dev/null 2> e.txt; [ $? -eq 2 ] && grep -q aiff e.txt || die "unknown --format: $(cat e.txt)"
"$I" --clip soft --wav e1 < tone.ts > /dev/null 2> e.txt; [ $? -eq 2 ] || die "unknown --clip"
"$I" --residual rest < tone.ts > /dev/null 2> e.txt; [ $? -eq 2 ] || die "--residual without --wav"
"$I" --residual a/b --wav e1 < tone.ts > /dev/null 2> e.txt; [ $? -eq 2 ] || die "--residual a/b"
"$I" -q --residual rest --no-stream --wav e2 < nomix.ts 2> e.txt; [ $? -eq 1 ] && grep -q "mixture" e.txt || die "--residual without a mixture: $(cat e.txt)"
[ -e e2/n/rest.wav ] && die "a residual written without a mixture"
"$I" -q --residual tone --no-stream --wav e3 < tone.ts 2> e.txt; [ $? -eq 1 ] && grep -q "tone" e.txt || die "--residual named like an estimate: $(cat e.txt)"
"$I" -q --format mp3 --no-stream --wav e4 < six.ts 2> e.txt; [ $? -eq 1 ] && grep -q "six/a.mp3: .*6 channels" e.txt || die "mp3, 6 channels: $(cat e.txt)"
[ -e e4/six/a.mp3 ] && die "a file written for a format that cannot hold it"
ls e4/six 2> /dev/null | grep -q . && die "a temporary file left: $(ls -a e4/six)"
exit 0
