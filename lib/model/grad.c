/* TFSWA training forward (BatchNorm on batch statistics) and backward pass:
 * a shim over the op list of lib/model/net.h. */
#include "model/grad.h"
#include "model/net.h"
#include "util/cli.h"

#include <stdlib.h>

struct tfswa_tnet {
    int T;
    tfswa_net_exec *net;
};

tfswa_tnet *tfswa_tnet_new(tfswa_model *m, int B, int T, int recompute)
{
    if (B < 1 || T < TFSWA_MIN_FRAMES)
        tf_die("training: batch %d of %d frames: needs a batch >= 1 of >= %d frames", B, T, TFSWA_MIN_FRAMES);
    tfswa_tnet *n = tf_calloc(1, sizeof *n, "training state");
    n->T = T;
    n->net = tfswa_net_exec_new(m, B, T, 1, recompute, 0);
    return n;
}

void tfswa_tnet_free(tfswa_tnet *n)
{
    if (!n)
        return;
    tfswa_net_exec_free(n->net);
    free(n);
}

size_t tfswa_tnet_bytes(const tfswa_tnet *n) { return tfswa_net_exec_bytes(n->net); }

const float *tfswa_tnet_forward(tfswa_tnet *n, const float *const *X, int update)
{
    return tfswa_net_forward(n->net, X, n->T, 0, n->T, update);
}

void tfswa_tnet_backward(tfswa_tnet *n, const float *dmasks, float *grad) { tfswa_net_backward(n->net, dmasks, grad); }
