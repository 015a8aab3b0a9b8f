#!/bin/sh
# One rank of a data-parallel training job (tfswa-net(1), "Data-parallel training over MPI"):
#   mpirun -np N [--host node1:2,node2:2] ./rank.sh CKPT [tfswa-net --train options...]
# Rank K of N trains on shard K/N of musdb-slice's random stream, so the N ranks together see the
# one-process stream without duplicates. Settings from the environment (mpirun -x VAR passes them
# to other hosts): MUSDB (the MUSDB18-HQ root; the same path on every host), STEMS, SEGMENT, SEED,
# AUGMENT (musdb-slice options), THREADS (per rank).
# trap: this shell outlives the SIGTERM mpirun sends on SIGINT/SIGTERM, so that mpirun does not
# take the rank for dead before rank 0 saved; tfswa-net, musdb-slice and stft get it as usual.
set -eu
trap : INT TERM
: "${MUSDB:?set MUSDB to the MUSDB18-HQ root}"
ckpt=$1; shift
# shellcheck disable=SC2086 # AUGMENT is a list of options
musdb-slice --quiet --split train --random --stems "${STEMS:-vocals,other}" --segment "${SEGMENT:-3}" \
    --seed "${SEED:-1}" ${AUGMENT:-} --shard "$OMPI_COMM_WORLD_RANK/$OMPI_COMM_WORLD_SIZE" "$MUSDB" |
    stft -q |
    tfswa-net --train -m "$ckpt" --threads "${THREADS:-1}" "$@"
