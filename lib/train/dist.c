/* Data-parallel training over MPI (lib/train/dist.h). */
#include "train/dist.h"

#include "util/cli.h"
#include "util/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef TFSWA_MPI
#include <mpi.h>
#endif

static int g_size = 1, g_rank = 0, g_init;
static double g_comm;
static volatile int g_stopping;

void dist_stopping(void) { g_stopping = 1; }

int dist_built(void)
{
#ifdef TFSWA_MPI
    return 1;
#else
    return 0;
#endif
}

const char *dist_describe(void)
{
#ifdef TFSWA_MPI
    static char buf[MPI_MAX_LIBRARY_VERSION_STRING + 128];
    if (!buf[0]) {
        char v[MPI_MAX_LIBRARY_VERSION_STRING];
        int len = 0;
        MPI_Get_library_version(v, &len); /* callable before MPI_Init */
        v[len < (int)sizeof v ? len : (int)sizeof v - 1] = 0;
        char *nl = strpbrk(v, ",\n");
        if (nl)
            *nl = 0;
        snprintf(buf, sizeof buf, "built in (%.120s)", v);
    }
    return buf;
#else
    return "not built in (build with libopenmpi-dev installed, MPI=auto|yes, for mpirun)";
#endif
}

/* The number of ranks a launcher announced in the environment (0: none). */
static long launcher_size(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return strtol(v, NULL, 10);
    }
    return getenv("PMIX_RANK") ? 1 : 0;
}

#ifdef TFSWA_MPI
static void check(int rc, const char *what)
{
    if (rc != MPI_SUCCESS) {
        while (g_stopping) /* a signal's save is under way (dist_stopping) */
            pause();
        char s[MPI_MAX_ERROR_STRING];
        int len = 0;
        MPI_Error_string(rc, s, &len);
        fprintf(stderr, "%s: %s: %.*s\n", tf_progname, what, len, s);
        MPI_Abort(MPI_COMM_WORLD, TF_EXIT_ERROR);
    }
}
#endif

int dist_init(void)
{
    if (g_init)
        return g_size;
    g_init = 1;
    long n = launcher_size();
#ifdef TFSWA_MPI
    if (n <= 0)
        return g_size;
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        tf_die("MPI_Init failed (started by mpirun with %ld ranks)", n);
    /* errors are reported by check() and end the whole job */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
#else
    if (n > 1)
        tf_die("started by mpirun with %ld ranks, but this tfswa-net was built without MPI: install libopenmpi-dev "
               "and rebuild (make MPI=yes); tfswa-net --train --help says whether MPI is in",
               n);
#endif
    return g_size;
}

int dist_rank(void) { return g_rank; }
int dist_size(void) { return g_size; }

double dist_comm_seconds(void) { return g_comm; }

void dist_sum(double *buf, size_t n)
{
    if (g_size <= 1 || n == 0)
        return;
#ifdef TFSWA_MPI
    double t0 = tf_now();
    /* blocks of at most 2^26 doubles per collective (MPI counts are int) */
    const size_t max_block = (size_t)1 << 26;
    const size_t P = (size_t)g_size;
    size_t per = (n + P - 1) / P;
    if (per > max_block)
        per = max_block;
    double *tmp = tf_malloc(per * P * sizeof(double), "allreduce");
    double *mine = tf_malloc(per * sizeof(double), "allreduce");
    for (size_t at = 0; at < n; at += per * P) {
        size_t len = n - at < per * P ? n - at : per * P;
        memcpy(tmp, buf + at, len * sizeof(double));
        memset(tmp + len, 0, (per * P - len) * sizeof(double));
        check(MPI_Reduce_scatter_block(tmp, mine, (int)per, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
              "gradient reduce-scatter");
        check(MPI_Allgather(mine, (int)per, MPI_DOUBLE, tmp, (int)per, MPI_DOUBLE, MPI_COMM_WORLD),
              "gradient allgather");
        memcpy(buf + at, tmp, len * sizeof(double));
    }
    free(tmp);
    free(mine);
    g_comm += tf_now() - t0;
#endif
}

void dist_max(long long *buf, int n)
{
    if (g_size <= 1 || n <= 0)
        return;
#ifdef TFSWA_MPI
    check(MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_LONG_LONG, MPI_MAX, MPI_COMM_WORLD), "allreduce (max)");
#endif
}

#ifdef TFSWA_MPI
static void bcast(void *buf, size_t n, size_t size, MPI_Datatype type)
{
    const size_t max_block = (size_t)1 << 28;
    for (size_t at = 0; at < n; at += max_block) {
        size_t len = n - at < max_block ? n - at : max_block;
        check(MPI_Bcast((char *)buf + at * size, (int)len, type, 0, MPI_COMM_WORLD), "broadcast");
    }
}
#endif

void dist_bcast_f32(float *buf, size_t n)
{
    if (g_size <= 1)
        return;
#ifdef TFSWA_MPI
    bcast(buf, n, sizeof(float), MPI_FLOAT);
#endif
}

void dist_bcast_f64(double *buf, size_t n)
{
    if (g_size <= 1)
        return;
#ifdef TFSWA_MPI
    bcast(buf, n, sizeof(double), MPI_DOUBLE);
#endif
}

void dist_finalize(void)
{
#ifdef TFSWA_MPI
    int inited = 0, done = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&done);
    if (inited && !done)
        MPI_Finalize();
#endif
}
