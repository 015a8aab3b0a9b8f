#!/bin/sh
# Damage anywhere in a stream is caught by tsinfo: truncation at every byte
# of a small multi-record stream (every dtype, raw and zlib), an inversion of
# every 3rd byte and a thousand random bit flips: each exits 1 with one
# message naming the header, a record or the end marker; never a crash or a
# hang. (tests/unit/test_stream.c does every byte and thousands of random
# flips in-process; the sanitizer variant here checks every 8th byte.)
set -eu
"$PYTHON" -c 'import subprocess' || { echo "no usable python3 ($PYTHON)" >&2; exit 77; }
cd "$TMPDIR"
"$BUILD/tests/helpers/tsgen" --mixed > mixed.ts
"$BIN/tsinfo" mixed.ts > /dev/null
step=1; istep=3; flips=1000
if [ "$VARIANT" = san ]; then step=8; istep=16; flips=100; fi
"$PYTHON" - "$BIN/tsinfo" "$step" "$istep" "$flips" <<'PY'
import random, re, subprocess, sys
tsinfo, step, istep, flips = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
data = open("mixed.ts", "rb").read()
pattern = re.compile(r"^tsinfo: stdin: (stream header|record \d+|end marker after \d+ records?): \S.*\n$")
failures = []
def run(what, payload):
    try:
        p = subprocess.run([tsinfo], input=payload, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
    except subprocess.TimeoutExpired:
        failures.append("%s: hang (killed after 30 s)" % what)
        return
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != 1 or not pattern.match(err):
        failures.append("%s: exit %d, stderr %r" % (what, p.returncode, err))
for cut in range(0, len(data), step):
    run("truncated at byte %d" % cut, data[:cut])
for i in range(0, len(data), istep):
    d = bytearray(data); d[i] ^= 0xFF
    run("byte %d inverted" % i, bytes(d))
rng = random.Random(2024)
for k in range(flips):
    d = bytearray(data)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        d[rng.randrange(len(d))] ^= 1 << rng.randrange(8)
    if bytes(d) != data:
        run("random flips #%d" % k, bytes(d))
for f in failures[:20]:
    print("FAIL", f)
print("%d failures" % len(failures))
sys.exit(1 if failures else 0)
PY
