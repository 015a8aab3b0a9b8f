/* Data-parallel training over MPI: `mpirun -np N tfswa-net --train ...`
 * (man/tfswa-net.1, "Data-parallel training over MPI"). Every rank holds the whole
 * model and computes the gradient of its share of the global batch; the
 * gradients are summed in double precision by one collective per step, so
 * that every rank applies the same update.
 *
 * Built with MPI when the Makefile finds Open MPI (MPI=auto, the default;
 * MPI=yes insists, MPI=no leaves it out). Without it every function here is
 * the one-process case (size 1, rank 0, sums of one term), and a program
 * started by mpirun says that it was built without MPI.
 *
 * Only the calling thread talks to MPI (MPI_THREAD_FUNNELED): OpenMP
 * regions and the prefetch thread never call these functions. */
#ifndef TFSWA_TRAIN_DIST_H
#define TFSWA_TRAIN_DIST_H

#include <stddef.h>

/* 1 when built with MPI. */
int dist_built(void);
/* One line for --help: "Open MPI v4.1.4, ..." or "not built in (...)". */
const char *dist_describe(void);

/* Joins the job when the process was started by mpirun (Open MPI's
 * OMPI_COMM_WORLD_SIZE or a PMI/PMIx launcher's variables in the
 * environment; otherwise MPI is not touched). Returns the number of ranks.
 * Dies (exit 1) when started by mpirun with several ranks on a build
 * without MPI. Safe to call more than once. */
int dist_init(void);
int dist_rank(void);
int dist_size(void);

/* buf[0..n) = the sum over ranks of every rank's buf, every rank getting
 * the same bytes: each block of buf is summed on one rank (a reduce-scatter,
 * in the library's fixed order for a given number of ranks) and sent to all
 * (an allgather) -- the two halves of a ring allreduce. */
void dist_sum(double *buf, size_t n);
/* buf[0..n) = the maximum over ranks. */
void dist_max(long long *buf, int n);
/* buf from rank 0 to every rank. */
void dist_bcast_f32(float *buf, size_t n);
void dist_bcast_f64(double *buf, size_t n);

/* Says that the process is ending on a signal: a collective that fails from
 * now on (another rank ended) blocks instead of aborting the job, so that
 * the thread saving the checkpoint can finish. */
void dist_stopping(void);

/* Seconds spent in dist_sum so far (wall clock). */
double dist_comm_seconds(void);

/* Leaves the job (MPI_Finalize); no-op for one process. */
void dist_finalize(void);

#endif
