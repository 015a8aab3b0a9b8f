#!/bin/sh
# Data-parallel training over MPI (tfswa-net(1), DATA-PARALLEL TRAINING):
# - musdb-slice --shard K/N: the N streams are the one stream dealt round-robin (record for record);
# - mpirun -np 2 at a global batch of 4 ends with the weights of one process at batch 4 (within 1e-6
#   relative per tensor, checked in numpy; in fact the same bytes), and the same run twice gives the
#   same bytes; validation split over the ranks gives one process's validation losses; rank 0 alone
#   writes the logs;
# - --resume continues a 2-rank run with 1 process and a 1-process run with 2 ranks, ending as the
#   uninterrupted run;
# - a rank's stream that ends ends the job cleanly (saved); a rank killed with SIGKILL ends the job
#   promptly with the last checkpoint intact; SIGTERM to mpirun saves and ends the job;
# - a global batch that is not a multiple of the ranks is refused;
# - the sum over ranks (dist_bench) against its closed form on 3 ranks.
# Small: a band model (16 features, 1 block) at n_fft 256 on 0.3 s examples, 1 thread per rank.
set -eu
cd "$TMPDIR"
"$BIN/tfswa-net" --help > help.txt
if ! grep -q '^MPI .*: built in' help.txt; then
    echo "tfswa-net built without MPI ($(grep '^MPI' help.txt)): install libopenmpi-dev (make deps) and rebuild"
    exit 77
fi
command -v mpirun >/dev/null || { echo "mpirun not found (openmpi-bin)"; exit 77; }
MPIRUN="mpirun --oversubscribe"
[ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
MPI2="$MPIRUN -np 2"
export OMPI_MCA_btl_base_warn_component_unused=0
# the sanitizer build: Open MPI's own allocations at MPI_Init are not freed
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"

# dist_sum (lib/train/dist.h) against the closed form, on 3 ranks and sizes that do not divide
for n in 1 2 1001; do
    $MPIRUN -np 3 "$BUILD/tests/helpers/dist_bench" $n 2 | grep -q "allreduce $n doubles on 3 ranks" ||
        { echo "dist_bench $n on 3 ranks failed" >&2; exit 1; }
done

"$BUILD/tests/helpers/musdb_fixture" tree root 2
SLICE="$BIN/musdb-slice -q --random --segment 0.3 --seed 5 -S vocals,other"
STFT="$BIN/stft -q -n 256 -H 64"
$SLICE --count 16 root | $STFT > train.ts
$SLICE --count 8 root | $STFT > first8.ts
for k in 0 1; do
    $SLICE --count 16 --shard $k/2 root | $STFT > sh$k.ts
    $SLICE --count 8 --shard $k/2 root | $STFT > half$k.ts
done
"$BIN/musdb-slice" -q --split test --segment 0.3 --count 3 -S vocals,other root | $STFT > valid.ts
"$BIN/tfswa-net" --init -m init.ckpt --preset band --n-fft 256 --hop 64 --stems vocals,other --seed 1 \
    --dims 16,16,16,16 --heads 2 --depths 1,1,1,1 --mask-hidden 16 2>/dev/null

# --shard: record j of shard k is record 2j + k of the whole stream
"$BIN/ts2npy" all < train.ts
"$BIN/ts2npy" s0 < sh0.ts
"$BIN/ts2npy" s1 < sh1.ts
for i in $(seq 0 15); do
    diff -r "all/$(printf %06d "$i")" "s$((i % 2))/$(printf %06d $((i / 2)))" >/dev/null ||
        { echo "--shard: record $i of the stream is not record $((i / 2)) of shard $((i % 2))" >&2; exit 1; }
done
test "$(ls s0 | wc -l)" -eq 8 && test "$(ls s1 | wc -l)" -eq 8

ARGS="--train --batch-size 4 --steps 4 --save-every 2 --lr 3e-3 -j 1"
compare() { # A B: the checkpoints agree within 1e-6 relative per tensor
    "$PYTHON" - "$TOP/examples/python" "$1" "$2" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import tfswa_stream
def load(p):
    return next(iter(tfswa_stream.read(open(p, "rb"))))
(aa, at), (ba, bt) = load(sys.argv[2]), load(sys.argv[3])
assert sorted(at) == sorted(bt), "different tensors"
for k in ("train_step", "train_examples", "train_batch", "train_total_steps"):
    assert aa.get(k) == ba.get(k), (k, aa.get(k), ba.get(k))
worst, wname = 0.0, ""
for name in at:
    x, y = at[name].astype(np.float64), bt[name].astype(np.float64)
    assert x.shape == y.shape, name
    scale = np.abs(x).max()
    d = np.abs(x - y).max() / scale if scale > 0 else np.abs(y).max()
    if d > worst:
        worst, wname = d, name
print("%s vs %s: largest relative difference %.3g (%s)" % (sys.argv[2], sys.argv[3], worst, wname))
assert worst <= 1e-6, "differ by more than 1e-6"
assert int(aa["train_step"]) > 0
EOF
}

# one process at batch 4, with validation and logs
cp init.ckpt one.ckpt
"$BIN/tfswa-net" $ARGS -q -m one.ckpt --valid valid.ts --epoch-size 8 --log-dir logs1 --log-every 1 train.ts
# two ranks at the global batch 4 (2 examples each), every rank its own shard
cp init.ckpt two.ckpt
$MPI2 sh -c 'exec "$0" '"$ARGS"' -m two.ckpt --valid valid.ts --epoch-size 8 --log-dir logs2 --log-every 1 \
    sh$OMPI_COMM_WORLD_RANK.ts' "$BIN/tfswa-net" 2>err2.txt || { cat err2.txt >&2; exit 1; }
grep -q 'rank 0/2.*allreduce' err2.txt || { echo "no step-time report with the allreduce" >&2; cat err2.txt >&2; exit 1; }
grep -q 'rank 1/2' err2.txt && { echo "rank 1 wrote progress" >&2; cat err2.txt >&2; exit 1; }
compare one.ckpt two.ckpt
compare one.ckpt.best two.ckpt.best
cmp one.ckpt two.ckpt || echo "note: the same weights within 1e-6, not the same bytes" >&2
# rank 0 alone wrote the logs, the same lines as one process's (time and cpu aside)
test "$(wc -l < logs2/train.csv)" -eq 5
test "$(wc -l < logs2/valid.csv)" -eq 4
"$PYTHON" - logs1/valid.csv logs2/valid.csv logs1/train.csv logs2/train.csv <<'EOF'
import csv, sys
for a, b in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):
    ra, rb = list(csv.DictReader(open(a))), list(csv.DictReader(open(b)))
    assert len(ra) == len(rb), (a, b)
    for x, y in zip(ra, rb):
        for k in x:
            if k in ("time", "cpu"):
                continue
            u, v = float(x[k]), float(y[k])
            assert abs(u - v) <= 1e-6 * max(1.0, abs(u)), (a, k, u, v)
EOF
# the same run twice: the same bytes
cp init.ckpt two-again.ckpt
$MPI2 sh -c 'exec "$0" '"$ARGS"' -q -m two-again.ckpt sh$OMPI_COMM_WORLD_RANK.ts' "$BIN/tfswa-net"
cp init.ckpt two-plain.ckpt
$MPI2 sh -c 'exec "$0" '"$ARGS"' -q -m two-plain.ckpt sh$OMPI_COMM_WORLD_RANK.ts' "$BIN/tfswa-net"
cmp two-plain.ckpt two-again.ckpt || { echo "two 2-rank runs differ" >&2; exit 1; }
cp init.ckpt one-plain.ckpt
"$BIN/tfswa-net" $ARGS -q -m one-plain.ckpt train.ts
compare one-plain.ckpt two-plain.ckpt

# resume: 2 ranks for 2 steps (their streams end), then 1 process; and the other way round
cp init.ckpt r21.ckpt
$MPI2 sh -c 'exec "$0" '"$ARGS"' -q -m r21.ckpt half$OMPI_COMM_WORLD_RANK.ts' "$BIN/tfswa-net"
"$BIN/tsinfo" r21.ckpt | grep -q '@train_step = 2$' || { echo "2-rank run did not stop at step 2" >&2; exit 1; }
"$BIN/tfswa-net" $ARGS -q --resume -m r21.ckpt train.ts
compare one-plain.ckpt r21.ckpt
cp init.ckpt r12.ckpt
"$BIN/tfswa-net" $ARGS -q -m r12.ckpt first8.ts
$MPI2 sh -c 'exec "$0" '"$ARGS"' -q --resume -m r12.ckpt sh$OMPI_COMM_WORLD_RANK.ts' "$BIN/tfswa-net"
compare one-plain.ckpt r12.ckpt

# one rank's stream ends: the job ends cleanly after the last full step, saved
cp init.ckpt e.ckpt
$MPI2 sh -c 'if [ $OMPI_COMM_WORLD_RANK = 0 ]; then f=sh0.ts; else f=half1.ts; fi
    exec "$0" '"$ARGS"' -m e.ckpt $f' "$BIN/tfswa-net" 2>err.txt || { cat err.txt >&2; exit 1; }
grep -q "end of another rank's training stream after 2 steps" err.txt || { cat err.txt >&2; exit 1; }

# a global batch that the ranks do not divide
rc=0; $MPI2 sh -c 'exec "$0" --train --batch-size 3 --steps 1 -q -m e.ckpt sh$OMPI_COMM_WORLD_RANK.ts' \
    "$BIN/tfswa-net" >out.txt 2>&1 || rc=$?
[ $rc != 0 ] && grep -q -- "--batch-size 3 is not a multiple of the 2 ranks" out.txt ||
    { echo "batch 3 on 2 ranks: exit $rc" >&2; cat out.txt >&2; exit 1; }

# endless streams per rank (the pattern of tfswa-net(1)); trap: the shell survives mpirun's SIGTERM
cat > rank.sh <<EOF
#!/bin/sh
trap : INT TERM
$SLICE --shard \$OMPI_COMM_WORLD_RANK/\$OMPI_COMM_WORLD_SIZE root | $STFT |
    "$BIN/tfswa-net" --train -m "\$1" --batch-size 4 --steps 100000 --save-every 2 -j 1 -q
EOF
chmod +x rank.sh
wait_step() { # CKPT N: until the checkpoint holds step >= N (at most 300 s)
    i=0
    while :; do
        s=$("$BIN/tsinfo" "$1" 2>/dev/null | sed -n 's/^ *@train_step = //p' | head -n 1)
        [ -n "$s" ] && [ "$s" -ge "$2" ] && return 0
        i=$((i + 1)); [ $i -lt 3000 ] || { echo "no checkpoint of step $2 in 300 s" >&2; return 1; }
        sleep 0.1
    done
}

# a rank killed with SIGKILL: mpirun ends the job promptly; the checkpoint stays intact
cp init.ckpt k.ckpt
$MPI2 ./rank.sh k.ckpt >kill.txt 2>&1 &
job=$!
wait_step k.ckpt 2 || { kill $job; exit 1; }
victim=""
for p in $(pgrep -f 'tfswa-net --train -m k.ckpt'); do
    tr '\0' '\n' < /proc/$p/environ | grep -qx 'OMPI_COMM_WORLD_RANK=1' && victim=$p
done
[ -n "$victim" ] || { echo "rank 1 not found" >&2; kill $job; exit 1; }
t0=$(date +%s)
kill -9 "$victim"
rc=0; timeout 60 sh -c 'while kill -0 '$job' 2>/dev/null; do sleep 0.1; done' || rc=$?
[ $rc = 0 ] || { echo "the job did not end within 60 s of a rank's death" >&2; kill -9 $job; exit 1; }
rc=0; wait $job || rc=$?
echo "killed rank 1: the job ended in $(($(date +%s) - t0)) s, mpirun exit $rc" >&2
[ $rc != 0 ] || { echo "mpirun exit 0 after a killed rank" >&2; exit 1; }
"$BIN/tsinfo" k.ckpt | grep -q '@train_step = ' || { echo "checkpoint damaged" >&2; exit 1; }
"$BIN/tfswa-net" --info -m k.ckpt >/dev/null

# SIGTERM to mpirun: rank 0 saves the last completed step and the job ends. mpirun
# sends SIGKILL 1 s after SIGTERM (odls_base_sigkill_timeout): on a loaded machine (make
# check runs tests in parallel, under the sanitizers too) the save can take longer, so
# the test gives it 30 s, as tfswa-net(1) advises for big models
cp init.ckpt t.ckpt
$MPI2 --mca odls_base_sigkill_timeout 30 ./rank.sh t.ckpt >term.txt 2>&1 &
job=$!
wait_step t.ckpt 2 || { kill $job; exit 1; }
kill -TERM $job
rc=0; wait $job || rc=$?
grep -q 'rank 0/2): terminated (SIGTERM): saved t.ckpt at step' term.txt || { cat term.txt >&2; exit 1; }
s=$(sed -n 's/.*saved t.ckpt at step \([0-9]*\).*/\1/p' term.txt)
"$BIN/tsinfo" t.ckpt | grep -q "@train_step = $s\$" || { echo "t.ckpt is not step $s" >&2; exit 1; }
for f in t.ckpt.tmp*; do [ ! -e "$f" ] || { echo "temporary file left: $f" >&2; exit 1; }; done
echo "ok"
