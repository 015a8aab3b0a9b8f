/* TFSWA inference forward pass: a shim over the op list of lib/model/net.h
 * (formats/checkpoint.md, "Forward pass"). */
#include "model/forward.h"
#include "model/net.h"
#include "util/cli.h"

#include <stdlib.h>

struct tfswa_runner {
    const tfswa_model *m;
    int tmax;
    tfswa_net_exec *net;
};

tfswa_runner *tfswa_runner_new(const tfswa_model *m, int tmax, int fold_bn)
{
    if (tmax < TFSWA_MIN_FRAMES)
        tmax = TFSWA_MIN_FRAMES;
    tfswa_runner *r = tf_calloc(1, sizeof *r, "model runner");
    r->m = m;
    r->tmax = tmax;
    r->net = tfswa_net_exec_new(m, 1, tmax, 0, 0, fold_bn);
    return r;
}

void tfswa_runner_free(tfswa_runner *r)
{
    if (!r)
        return;
    tfswa_net_exec_free(r->net);
    free(r);
}

int tfswa_runner_tmax(const tfswa_runner *r) { return r->tmax; }
const tfswa_model *tfswa_runner_model(const tfswa_runner *r) { return r->m; }

const float *tfswa_forward(tfswa_runner *r, const float *X, int64_t Ttot, int64_t t0, int T)
{
    if (T < 1 || T > r->tmax || t0 < 0 || t0 + T > Ttot)
        tf_die("tfswa_forward: frames [%lld, %lld) outside [0, %lld) or longer than %d", (long long)t0,
               (long long)t0 + T, (long long)Ttot, r->tmax);
    return tfswa_net_forward(r->net, &X, Ttot, t0, T, 0);
}
