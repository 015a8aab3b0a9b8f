#!/bin/sh
# A record larger than 2^31 bytes (one f32 tensor of 2.3 GB, to catch 32-bit
# overflows) streams through a pipe into tsinfo with bounded memory: the
# statistics are exact and tsinfo's peak RSS stays under 64 MiB.
# variants: normal (2.3 GB through ASan takes minutes)
set -eu
cd "$TMPDIR"
bytes=2300000000
"$BUILD/tests/helpers/tsgen" --records 1 --bytes $bytes |
    "$BUILD/tests/helpers/tsrss" rss.txt "$BIN/tsinfo" > out.txt
cat out.txt
grep -q '^record 0: 1 attribute, 1 tensor, 2300000000 bytes$' out.txt
# x[j] = ((j mod 1000) - 500) / 256 over 575000000 values (a multiple of 1000)
grep -q '^  x  f32 \[575000000\]  min -1.95312 max 1.94922 mean -0.00195312 rms 1.12764$' out.txt
rss=$(cat rss.txt)
echo "tsinfo peak RSS: $rss KiB"
[ "$rss" -lt 65536 ] || { echo "FAIL: tsinfo used $rss KiB for a streamed record"; exit 1; }
