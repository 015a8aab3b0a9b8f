#!/bin/sh
# Data-parallel training over MPI (tfswa-net(1), "Data-parallel training over MPI") on this
# machine, and a model of larger clusters from what it measures:
# - the step time of 1 process x THREADS threads against NP ranks x THREADS/NP threads, the same
#   global batch (BATCH examples of SEGMENT s, PRESET, default band 4 x 3 s), on the same
#   examples; wall seconds per step from runs of 1 and 1 + STEPS steps (start-up and the first
#   step cancel out);
# - the allreduce's share of a 2-rank step, as the trainer reports it (its time includes waiting
#   for the slower rank);
# - a ring-allreduce model of N nodes of this machine (8, 32, 128) on 10, 25 and 100 Gb/s links,
#   every node taking BATCH examples a step (the global batch grows with N): communication
#   2 (N-1)/N x the reduced bytes / bandwidth + 2 (N-1) x LATENCY (default 50 us per message,
#   TCP), not overlapped with the backward pass (tfswa-net sends one fused buffer after it);
#   the bytes are 8 per parameter and buffer (the sum is in double precision).
# - the allreduce alone, the step's buffer on NP ranks here (tests/helpers/dist_bench, shared memory).
# Never fails on time. Environment: BIN (default build/bin), PRESET, BATCH (default 4), SEGMENT
# (default 3), STEPS (timed steps, default 3), THREADS (default 2), NP (default 2), LATENCY (s),
# MUSDB (default the demo set examples/data/musdb-demo).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$TOP/build/bin}
PRESET=${PRESET:-band}
BATCH=${BATCH:-4}
SEGMENT=${SEGMENT:-3}
STEPS=${STEPS:-3}
THREADS=${THREADS:-2}
NP=${NP:-2}
LATENCY=${LATENCY:-50e-6}
MUSDB=${MUSDB:-$TOP/examples/data/musdb-demo}
W=$(mktemp -d "${TMPDIR:-/tmp}/tfswa-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
[ -d "$MUSDB/train" ] || { echo "bench: $MUSDB: no data set (make data)" >&2; exit 1; }
"$BIN/tfswa-net" --help | grep -q '^MPI .*: built in' ||
    { echo "bench: tfswa-net built without MPI: $("$BIN/tfswa-net" --help | grep '^MPI')" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "bench: mpirun missing (apt-get install openmpi-bin)" >&2; exit 1; }
MPIRUN="mpirun --oversubscribe -np $NP"
[ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
[ $((BATCH % NP)) = 0 ] || { echo "bench: BATCH $BATCH is not a multiple of NP $NP" >&2; exit 1; }
[ $((THREADS % NP)) = 0 ] || { echo "bench: THREADS $THREADS is not a multiple of NP $NP" >&2; exit 1; }
TR=$((THREADS / NP))

n=$((STEPS + 1))
SLICE="$BIN/musdb-slice -q --random --segment $SEGMENT --count $((n * BATCH)) --seed 1 -S vocals,other"
$SLICE "$MUSDB" | "$BIN/stft" -q > "$W/all.ts"
k=0
while [ $k -lt "$NP" ]; do $SLICE --shard $k/"$NP" "$MUSDB" | "$BIN/stft" -q > "$W/sh$k.ts"; k=$((k + 1)); done
"$BIN/tfswa-net" --init -q -m "$W/m.ckpt" --preset "$PRESET" --stems vocals,other --force
params=$("$BIN/tfswa-net" --info -m "$W/m.ckpt" | sed -n 's/^parameters *\([0-9]*\) trainable, \([0-9]*\) buffers.*/\1 \2/p')
ARGS="--train --batch-size $BATCH --save-every 0"

now() { date +%s.%N; }
# CONFIG STEPS: seconds of wall clock of a run of STEPS steps; its stderr in $W/err-CONFIG-STEPS
run() {
    cp "$W/m.ckpt" "$W/r.ckpt"
    s=$(now)
    if [ "$1" = one ]; then
        "$BIN/tfswa-net" $ARGS --steps "$2" -j "$THREADS" -m "$W/r.ckpt" "$W/all.ts" 2> "$W/err-$1-$2"
    else
        $MPIRUN sh -c 'exec "$0" '"$ARGS"' --steps '"$2"' -j '"$TR"' -m "$1" "$2/sh$OMPI_COMM_WORLD_RANK.ts"' \
            "$BIN/tfswa-net" "$W/r.ckpt" "$W" 2> "$W/err-$1-$2"
    fi
    echo "$(now) - $s" | bc -l
}
echo "$PRESET, global batch $BATCH x $SEGMENT s, $STEPS timed steps; $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs"
echo "config                     s/step(wall)   trainer's split of a step"
for cfg in one mpi; do
    t1=$(run $cfg 1)
    tn=$(run $cfg $n)
    step=$(echo "($tn - $t1) / $STEPS" | bc -l)
    if [ $cfg = one ]; then step_one=$step; else step_mpi=$step; fi
    if [ $cfg = one ]; then label="1 process x $THREADS threads"; else label="$NP ranks x $TR thread(s)"; fi
    printf "%-26s %12.2f   %s\n" "$label" "$step" "$(sed -n 's/^tfswa-net[^:]*: \(.* per step:.*\)/\1/p' "$W/err-$cfg-$n")"
done
report=$(sed -n 's/^tfswa-net[^:]*: \(.* per step:.*\)/\1/p' "$W/err-mpi-$n")
awk -v r="$report" -v one="$step_one" -v mpi="$step_mpi" -v np="$NP" 'BEGIN {
    total = r + 0; split(r, a, "allreduce "); ar = a[2] + 0
    printf "%d ranks / 1 process, step time: %.2f; allreduce %.3f s of %.3f s per step (%.1f%%, waiting for the slower rank included)\n",
        np, mpi / one, ar, total, 100 * ar / total }'

# the allreduce alone: the step's buffer (parameters, buffers, the losses) summed on NP ranks here
set -- $params
pure=$($MPIRUN "$TOP/${BUILD:-build}/tests/helpers/dist_bench" $(($1 + $2 + 3)) 10 | sed -n 's/.*: \([0-9.]*\) s$/\1/p')
echo "the allreduce alone ($NP ranks here, shared memory, median of 10): $pure s a step"

# the model: N nodes like this one, each BATCH examples a step at the 1-process step time
set -- $params
awk -v P="$1" -v Bf="$2" -v tc="$step_one" -v lat="$LATENCY" -v B="$BATCH" 'BEGIN {
    bytes = 8 * (P + Bf)
    printf "\nring allreduce model: %d parameters + %d buffers = %.1f MB a step (double); compute %.2f s a step a node\n",
        P, Bf, bytes / 1e6, tc
    printf "latency %.0f us a message; efficiency = compute / (compute + allreduce)\n", lat * 1e6
    printf "%6s %8s %12s %10s %11s %12s\n", "nodes", "Gb/s", "allreduce s", "step s", "efficiency", "examples/s"
    split("8 32 128", Ns, " "); split("10 25 100", Ls, " ")
    for (i = 1; i <= 3; i++) for (j = 1; j <= 3; j++) {
        N = Ns[i]; bw = Ls[j] * 1e9 / 8
        c = 2 * (N - 1) / N * bytes / bw + 2 * (N - 1) * lat
        printf "%6d %8d %12.4f %10.2f %10.1f%% %12.1f\n", N, Ls[j], c, tc + c, 100 * tc / (tc + c), N * B / (tc + c)
    }
    for (j = 1; j <= 3; j++) {
        bw = Ls[j] * 1e9 / 8; N = 128
        printf "%d Gb/s, 128 nodes: the allreduce takes as long as a step that computes in %.3f s (a faster node, or fewer examples a node, than that: communication dominates)\n", Ls[j], 2 * (N - 1) / N * bytes / bw + 2 * (N - 1) * lat
    }
    # where communication equals computation: 2 (N-1)/N S/bw + 2 (N-1) lat = tc
    for (j = 1; j <= 3; j++) {
        bw = Ls[j] * 1e9 / 8; N = 2
        while (N < 1e6 && 2 * (N - 1) / N * bytes / bw + 2 * (N - 1) * lat < tc) N *= 2
        if (N >= 1e6) printf "%d Gb/s: communication stays below computation at any size\n", Ls[j]
        else printf "%d Gb/s: communication reaches computation between %d and %d nodes\n", Ls[j], N / 2, N
    }
}'
