#!/bin/sh
# The stream code is valgrind-clean: no invalid access, no uninitialised
# value used, no definite leak, in the unit tests and in each tool on the
# golden stream (normal variant only: valgrind and ASan do not mix).
set -eu
# variants: normal
command -v valgrind > /dev/null 2>&1 || { echo "valgrind is missing (make deps installs it)"; exit 77; }
G="$TOP/formats/golden"
cd "$TMPDIR"
vg() { valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$@"; }
vg "$BUILD/tests/test_npy"
TEST_STREAM_QUICK=1 vg "$BUILD/tests/test_stream"
vg "$BIN/tsinfo" "$G/mixed.ts" > /dev/null
vg "$BIN/tsinfo" --json "$G/mixed.ts" > /dev/null
vg "$BIN/ts2npy" out "$G/mixed.ts"
vg "$BIN/npy2ts" out > a.ts
vg "$BIN/npy2ts" --zlib out > b.ts
# error paths exit through tf_die; they must not touch bad memory either
head -c 1000 "$G/mixed.ts" > cut.ts
st=0; vg "$BIN/tsinfo" cut.ts > /dev/null 2> err.txt || st=$?
[ "$st" = 1 ] || { cat err.txt; exit 1; }
echo ok
