/* Thread defaults (lib/util/cli.c): tf_init gives one thread unless
 * TFSWA_THREADS says otherwise; tf_threads_default_all (the heavy tools:
 * tfswa-net, sdr, wiener) gives every online CPU unless TFSWA_THREADS is
 * set; OpenMP follows. */
#include "check.h"
#include "util/cli.h"

#include <omp.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    char *argv[] = {"test_threads", NULL};
    unsetenv("TFSWA_THREADS");
    tf_init(1, argv);
    CHECK(tf_threads() == 1, "tf_init default: %d", tf_threads());
    tf_threads_default_all();
    CHECK(tf_threads() == cpus, "heavy default: %d, %ld CPUs", tf_threads(), cpus);
    CHECK(omp_get_max_threads() == cpus, "OpenMP: %d", omp_get_max_threads());
    setenv("TFSWA_THREADS", "3", 1);
    tf_init(1, argv);
    tf_threads_default_all();
    CHECK(tf_threads() == 3, "TFSWA_THREADS=3 kept: %d", tf_threads());
    CHECK(omp_get_max_threads() == 3, "OpenMP: %d", omp_get_max_threads());
    setenv("TFSWA_THREADS", "0", 1);
    tf_init(1, argv);
    CHECK(tf_threads() == cpus, "TFSWA_THREADS=0: %d", tf_threads());
    return check_report("threads");
}
