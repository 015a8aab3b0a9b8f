#!/bin/sh
# Tensor stream throughput: writing and reading raw and zlib streams (MB/s,
# and peak memory where /usr/bin/time is installed). Never fails on time.
# BUILD=dir selects the build (default build); SIZE_MB the data size (default 512).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
B="$TOP/${BUILD:-build}"
MB=${SIZE_MB:-512}
W=$(mktemp -d "${TMPDIR:-/tmp}/tfswa-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
recs=$((MB / 4))
now() { date +%s.%N; }
rate() { # label seconds megabytes
    awk -v l="$1" -v s="$2" -v m="$3" 'BEGIN { printf "%-34s %8.2f s %9.1f MB/s\n", l, s, m / (s > 0 ? s : 1e-9) }'
}
run() { # label megabytes command...
    label=$1 mb=$2; shift 2
    t0=$(now)
    if [ -x /usr/bin/time ]; then /usr/bin/time -f "%M" -o "$W/rss" "$@"; else "$@"; fi
    t1=$(now)
    rate "$label" "$(echo "$t1 - $t0" | bc -l 2>/dev/null || awk -v a="$t1" -v b="$t0" 'BEGIN{print a-b}')" "$mb"
    [ -f "$W/rss" ] && echo "    peak RSS $(cat "$W/rss") KiB" && rm -f "$W/rss"
    return 0
}
echo "stream benchmark: $MB MB in $recs records of 4 MiB (f32)"
run "write raw (tsgen > file)" "$MB" sh -c "'$B/tests/helpers/tsgen' --records $recs --bytes 4194304 > '$W/raw.ts'"
run "read raw, no stats (tsinfo -b)" "$MB" sh -c "'$B/bin/tsinfo' --brief '$W/raw.ts' > /dev/null"
run "read raw + statistics (tsinfo)" "$MB" sh -c "'$B/bin/tsinfo' '$W/raw.ts' > /dev/null"
run "raw through a pipe (tsgen | tsinfo -b)" "$MB" sh -c "'$B/tests/helpers/tsgen' --records $recs --bytes 4194304 | '$B/bin/tsinfo' --brief > /dev/null"
run "ts2npy (raw stream -> .npy)" "$MB" "$B/bin/ts2npy" "$W/npy" "$W/raw.ts"
run "npy2ts raw (.npy -> stream)" "$MB" sh -c "'$B/bin/npy2ts' '$W/npy' > '$W/raw2.ts'"
run "npy2ts --zlib (level 6)" "$MB" sh -c "'$B/bin/npy2ts' --zlib '$W/npy' > '$W/z.ts'"
run "npy2ts --zlib --level 1" "$MB" sh -c "'$B/bin/npy2ts' --zlib --level 1 '$W/npy' > '$W/z1.ts'"
run "read zlib, no stats (tsinfo -b)" "$MB" sh -c "'$B/bin/tsinfo' --brief '$W/z.ts' > /dev/null"
echo "zlib size: level 6 $(($(stat -c %s "$W/z.ts") / 1048576)) MiB, level 1 $(($(stat -c %s "$W/z1.ts") / 1048576)) MiB of $MB MB"
