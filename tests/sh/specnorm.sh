#!/bin/sh
# specnorm: statistics of the mixture spectrograms of a stream, written
# atomically, loaded by specnorm_load and checked against a naive long
# double computation; errors.
set -u
G=$BUILD/tests/helpers/stft_gen
C=$BUILD/tests/helpers/stft_check
cd "$TMPDIR" || exit 1
die() { echo "FAIL: $*" >&2; exit 1; }

"$G" -r 3 mixture:2:6000 vocals:2:6000 > w.ts
"$BIN/stft" -q -n 256 -H 64 < w.ts > s.ts || die stft
"$BIN/specnorm" -q -o stats.ts s.ts || die specnorm
"$C" stats stats.ts s.ts || die "statistics"
# --records stops early: the same as the first record alone
"$BIN/specnorm" -q -n 1 -o one.ts < s.ts || die "--records"
"$C" stats one.ts s.ts > /dev/null 2>&1 && die "--records 1 should differ from all records"
# errors: no output, no tensor, waveform instead of spectrogram; no file left
"$BIN/specnorm" < s.ts > /dev/null 2>&1; [ $? -eq 2 ] || die "no -o: exit 2"
"$BIN/specnorm" -q -t nosuch -o bad.ts s.ts 2> e.txt; [ $? -eq 1 ] || die "missing tensor: exit 1"
[ -e bad.ts ] && die "a file was left behind"
"$BIN/specnorm" -q -o bad.ts w.ts 2> e.txt; [ $? -eq 1 ] || die "waveform: exit 1"
grep -q "record 0: tensor 'mixture'" e.txt || die "message: $(cat e.txt)"
[ -e bad.ts ] && die "a file was left behind"
"$BIN/specnorm" --help | grep -q -- --records || die "--help"
exit 0
