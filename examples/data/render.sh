#!/bin/sh
# render.sh MIDI OUTDIR [LEAD_CHANNEL]
# Renders one General MIDI song into a MUSDB18-HQ track folder OUTDIR
# (drums, bass, other, vocals, mixture .wav): midisplit splits the song by
# role, fluidsynth renders each role to float WAV (the four in parallel),
# stemmix cuts the excerpt, levels, quantises and sums. Temporary files go
# to a scratch folder removed on exit. Environment (set by the Makefile):
# MIDISPLIT, STEMMIX, FLUIDSYNTH, SF2, EXCERPT (seconds), GAIN.
set -eu
[ $# -ge 2 ] || { echo "usage: render.sh MIDI OUTDIR [LEAD_CHANNEL]" >&2; exit 2; }
midi=$1 out=$2 lead=${3:-}
: "${MIDISPLIT:=./midisplit}" "${STEMMIX:=./stemmix}" "${FLUIDSYNTH:=fluidsynth}"
: "${SF2:=/usr/share/sounds/sf2/FluidR3_GM.sf2}" "${EXCERPT:=30}" "${GAIN:=0.5}"
[ -r "$midi" ] || { echo "render.sh: $midi: no such MIDI file (is openttd-openmsx installed?)" >&2; exit 1; }
[ -r "$SF2" ] || { echo "render.sh: $SF2: no such SoundFont (is fluid-soundfont-gm installed?)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tfswa-render.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
"$MIDISPLIT" ${lead:+--lead "$lead"} "$midi" "$tmp/part"
pids=
for r in drums bass other vocals; do
  # reverb and chorus stay at fluidsynth's defaults: both are deterministic
  # and linear, so the sum of the stems is what one render of the song gives
  "$FLUIDSYNTH" -q -ni -T wav -O float -r 44100 -g "$GAIN" -o synth.cpu-cores=1 \
    -F "$tmp/$r.wav" "$SF2" "$tmp/part.$r.mid" >"$tmp/$r.log" 2>&1 &
  pids="$pids $!"
done
fail=0
for p in $pids; do wait "$p" || fail=1; done
for r in drums bass other vocals; do
  if [ $fail = 1 ] || [ ! -s "$tmp/$r.wav" ]; then
    echo "render.sh: $midi: fluidsynth failed on the $r part:" >&2; cat "$tmp/$r.log" >&2; exit 1
  fi
done
mkdir -p "$out"
"$STEMMIX" --seconds "$EXCERPT" "$out" "$tmp/drums.wav" "$tmp/bass.wav" "$tmp/other.wav" "$tmp/vocals.wav"
