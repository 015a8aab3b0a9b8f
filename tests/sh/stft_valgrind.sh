#!/bin/sh
# The DSP unit tests and the stft/istft/specnorm tools under valgrind
# (leaks and invalid accesses), normal build only (ASan covers the san one).
set -u
# variants: normal
command -v valgrind > /dev/null || { echo "valgrind not installed" >&2; exit 77; }
cd "$TMPDIR" || exit 1
die() { echo "FAIL: $*" >&2; exit 1; }
VG="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect --error-exitcode=1"
export OMP_NUM_THREADS=1 STFT_TEST_QUICK=1
$VG "$BUILD/tests/test_stft" || die "test_stft under valgrind"
$VG "$BUILD/tests/test_dsp" || die "test_dsp under valgrind"
"$BUILD/tests/helpers/stft_gen" -r 2 mixture:2:3000 vocals:2:3000 t:1:5 > w.ts
$VG "$BIN/stft" -q -n 256 -H 64 --freq-masks 2 --time-masks 1 w.ts > s.ts || die "stft under valgrind"
$VG "$BIN/istft" -q --wav out s.ts > r.ts || die "istft under valgrind"
$VG "$BIN/specnorm" -q -o st.ts s.ts || die "specnorm under valgrind"
exit 0
