#!/bin/sh
# Fuzzes the stream reader and the .npy/JSON parsers with libFuzzer (ASan +
# UBSan) for about 20 s in all, from the seed corpus (formats/golden,
# tests/fuzz/seeds). Longer runs: make fuzz FUZZ_SECONDS=600.
set -eu
# variants: normal (the fuzz targets carry their own sanitizers)
command -v "${CLANG:-clang}" > /dev/null 2>&1 || { echo "clang is missing (make deps installs it)"; exit 77; }
cd "$TOP"
if ! make --no-print-directory -s -f tests/fuzz/fuzz.mk BUILD="$BUILD" build > "$TMPDIR/build.log" 2>&1; then
    if grep -qi 'fuzzer' "$TMPDIR/build.log" && grep -qi 'not found\|cannot find\|unsupported' "$TMPDIR/build.log"; then
        echo "clang has no libFuzzer runtime here"; exit 77
    fi
    cat "$TMPDIR/build.log"; exit 1
fi
mkdir -p "$TMPDIR/cs" "$TMPDIR/cn"
"$BUILD/fuzz/fuzz_stream" -max_total_time=12 -max_len=8192 -timeout=10 -rss_limit_mb=1024 \
    -artifact_prefix="$TMPDIR/crash-" "$TMPDIR/cs" formats/golden tests/fuzz/seeds > "$TMPDIR/fs.log" 2>&1 ||
    { tail -n 40 "$TMPDIR/fs.log"; exit 1; }
"$BUILD/fuzz/fuzz_npy" -max_total_time=8 -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
    -artifact_prefix="$TMPDIR/crash-" "$TMPDIR/cn" tests/fuzz/seeds > "$TMPDIR/fn.log" 2>&1 ||
    { tail -n 40 "$TMPDIR/fn.log"; exit 1; }
grep -h 'Done' "$TMPDIR/fs.log" "$TMPDIR/fn.log"
