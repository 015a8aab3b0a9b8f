#!/bin/sh
# render.sh MIDI OUTDIR [LEAD_CHANNEL]
# Renders one General MIDI song into a MUSDB18-HQ track folder OUTDIR
# (drums, bass, other, vocals, mixture .wav): midisplit splits the song by
# role, fluidsynth renders each role to float WAV (the four in parallel),
# stemmix cuts the excerpt, levels, quantises and sums. Temporary files go
# to a scratch folder removed on exit. Environment (set by the Makefile):
# MIDISPLIT, STEMMIX, FLUIDSYNTH, SF2, EXCERPT (seconds; 0: the whole song),
# GAIN, and optionally SPLIT_OPTS (more midisplit options: --bass,
# --transpose, --tempo) and JOBS (fluidsynth processes at once, default 4).
set -eu
[ $# -ge 2 ] || { echo "usage: render.sh MIDI OUTDIR [LEAD_CHANNEL]" >&2; exit 2; }
midi=$1 out=$2 lead=${3:-}
: "${MIDISPLIT:=./midisplit}" "${STEMMIX:=./stemmix}" "${FLUIDSYNTH:=fluidsynth}"
: "${SF2:=/usr/share/sounds/sf2/FluidR3_GM.sf2}" "${EXCERPT:=30}" "${GAIN:=0.5}"
[ -r "$midi" ] || { echo "render.sh: $midi: no such MIDI file (is openttd-openmsx installed?)" >&2; exit 1; }
[ -r "$SF2" ] || { echo "render.sh: $SF2: no such SoundFont (is its Debian package installed? make deps)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tfswa-render.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
fail=0
# shellcheck disable=SC2086 # SPLIT_OPTS is a list of words
"$MIDISPLIT" ${lead:+--lead "$lead"} ${SPLIT_OPTS:-} "$midi" "$tmp/part"
pids='' n=0
for r in drums bass other vocals; do
  if [ "$n" -ge "${JOBS:-4}" ]; then
    # at most JOBS at once: wait for the oldest (renders take similar times)
    # shellcheck disable=SC2086 # pids is a list of words
    set -- $pids; wait "$1" || fail=1; shift; pids=$*
  fi
  # reverb and chorus stay at fluidsynth's defaults: both are deterministic
  # and linear, so the sum of the stems is what one render of the song gives
  "$FLUIDSYNTH" -q -ni -T wav -O float -r 44100 -g "$GAIN" -o synth.cpu-cores=1 \
    -F "$tmp/$r.wav" "$SF2" "$tmp/part.$r.mid" >"$tmp/$r.log" 2>&1 &
  pids="$pids $!" n=$((n + 1))
done
for p in $pids; do wait "$p" || fail=1; done
for r in drums bass other vocals; do
  if [ $fail = 1 ] || [ ! -s "$tmp/$r.wav" ]; then
    echo "render.sh: $midi: fluidsynth failed on the $r part:" >&2; cat "$tmp/$r.log" >&2; exit 1
  fi
done
mkdir -p "$out"
"$STEMMIX" --seconds "$EXCERPT" "$out" "$tmp/drums.wav" "$tmp/bass.wav" "$tmp/other.wav" "$tmp/vocals.wav"
