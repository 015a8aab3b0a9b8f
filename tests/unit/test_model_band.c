/* The band model's own layers (lib/model/net.c) against a naive double
 * reference written here: a band model without TFSWA blocks (depth 0) is
 * exactly the new layers, the band embedding (gather, LayerNorm over each
 * band's 4 w values, Linear), the final LayerNorm and the per-band mask MLP
 * (Linear, exact GELU, Linear, scatter to the bins). Checks, for a batch of
 * 2 examples of n_fft 16 (9 bins in bands 2, 3, 4), D 4, mask_hidden 5,
 * 2 stems, every tensor random, with the input features complex (4 per bin)
 * and logmag (6 per bin: and log |normalised bin| of each channel):
 *  1. the float forward (inference and training state) against the double
 *     reference;
 *  2. the gradient of L = sum masks * R (fixed random R) with respect to
 *     every parameter against central finite differences of the double
 *     reference (step 1e-6, exact to about 1e-9).
 * The blocks between are lib/nn's tested tlayer; the whole model's backward
 * is checked in test_model_backward. */
#include "check.h"
#include "model/forward.h"
#include "model/grad.h"
#include "model/model.h"
#include "model/net.h"
#include "util/cli.h"
#include "util/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { B = 2, T = 8 };

static tfswa_model M;
static int F, K, D, H, S4, CC, edge[8];
static float *X[B];
static double *R;

static double gelu(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }

static const double *tens(const double *w, const char *fmt, int k)
{
    char name[96];
    snprintf(name, sizeof name, fmt, k);
    int i = tfswa_layout_find(&M.layout, name);
    if (i < 0)
        tf_die("no tensor %s", name);
    return w + M.layout.t[i].offset;
}

/* layer norm of n values in place, gain g and bias b */
static void ln(double *v, int n, const double *g, const double *b)
{
    double mu = 0, var = 0;
    for (int i = 0; i < n; i++)
        mu += v[i] / n;
    for (int i = 0; i < n; i++)
        var += (v[i] - mu) * (v[i] - mu) / n;
    for (int i = 0; i < n; i++)
        v[i] = (v[i] - mu) / sqrt(var + 1e-5) * g[i] + b[i];
}

/* the masks (B, S4, F, T) of weights w (the model's layout, double) */
static void reference(const double *w, double *masks)
{
    const double *mean = tens(w, "norm.mean", 0), *sd = tens(w, "norm.std", 0);
    double u[96], tok[8], h[8];
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            double toks[8][8];
            for (int k = 0; k < K; k++) {
                int wk = edge[k + 1] - edge[k];
                for (int j = 0; j < wk; j++) {
                    double *uj = u + CC * j;
                    for (int ch = 0; ch < 4; ch++) {
                        int f = edge[k] + j, audio = ch / 2, part = ch % 2;
                        double x = X[b][2 * (((size_t)audio * F + f) * T + t) + part];
                        uj[ch] = (x - mean[ch * F + f]) / sd[ch * F + f];
                    }
                    for (int c = 0; c < CC - 4; c++) /* logmag */
                        uj[4 + c] = 0.5 * log(uj[2 * c] * uj[2 * c] + uj[2 * c + 1] * uj[2 * c + 1] + 1e-3);
                }
                ln(u, CC * wk, tens(w, "band.%d.norm.weight", k), tens(w, "band.%d.norm.bias", k));
                const double *W = tens(w, "band.%d.fc.weight", k), *bb = tens(w, "band.%d.fc.bias", k);
                for (int d = 0; d < D; d++) {
                    toks[k][d] = bb[d];
                    for (int i = 0; i < CC * wk; i++)
                        toks[k][d] += W[d * CC * wk + i] * u[i];
                }
            }
            for (int k = 0; k < K; k++) {
                int wk = edge[k + 1] - edge[k];
                memcpy(tok, toks[k], sizeof(double) * D);
                ln(tok, D, tens(w, "norm_out.weight", 0), tens(w, "norm_out.bias", 0));
                const double *W1 = tens(w, "mask.%d.fc1.weight", k), *b1 = tens(w, "mask.%d.fc1.bias", k);
                const double *W2 = tens(w, "mask.%d.fc2.weight", k), *b2 = tens(w, "mask.%d.fc2.bias", k);
                for (int i = 0; i < H; i++) {
                    double a = b1[i];
                    for (int d = 0; d < D; d++)
                        a += W1[i * D + d] * tok[d];
                    h[i] = gelu(a);
                }
                for (int o = 0; o < S4 * wk; o++) {
                    double v = b2[o];
                    for (int i = 0; i < H; i++)
                        v += W2[o * H + i] * h[i];
                    int j = o / S4, c = o % S4;
                    masks[(((size_t)b * S4 + c) * F + edge[k] + j) * T + t] = v;
                }
            }
        }
}

static double loss(const double *w, double *masks, size_t n)
{
    reference(w, masks);
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += masks[i] * R[i];
    return s;
}

static void run(int features)
{
    tfswa_config c;
    tfswa_preset(&c, "band");
    snprintf(c.preset, sizeof c.preset, "custom");
    for (int i = 0; i < 4; i++) {
        c.depths[i] = 0;
        c.dims[i] = 4;
        c.heads[i] = 2;
    }
    static const int widths[3] = {2, 3, 4};
    c.n_bands = 3;
    memcpy(c.bands, widths, sizeof widths);
    c.mask_hidden = 5;
    c.window = 4;
    c.n_fft = 16;
    c.hop = 4;
    c.n_stems = 2;
    c.features = features;
    CC = tfswa_band_features(&c);
    char err[256];
    CHECK(tfswa_config_check(&c, err, sizeof err) == 0, "config: %s", err);
    tfswa_model_alloc(&M, &c);
    tfswa_model_init_weights(&M);
    F = tfswa_bins(&c), K = 3, D = 4, H = 5, S4 = 8;
    for (int k = 0; k < K; k++)
        edge[k + 1] = edge[k] + widths[k];
    tf_rng rng;
    tf_rng_seed(&rng, 11);
    const size_t np = M.layout.n_params, nt = M.layout.n_total;
    for (size_t i = 0; i < np; i++) /* every parameter random, of order 1 */
        M.data[i] = (float)tf_rng_range(&rng, -1, 1);
    for (size_t i = np; i < nt; i++) /* norm.mean, norm.std */
        M.data[i] = (float)tf_rng_range(&rng, 0.5, 1.5);
    for (int b = 0; b < B; b++) {
        X[b] = malloc(sizeof(float) * 4 * F * T);
        for (int i = 0; i < 4 * F * T; i++)
            X[b][i] = (float)tf_rng_normal(&rng);
    }
    const size_t nm = (size_t)B * S4 * F * T;
    R = malloc(sizeof(double) * nm);
    float *Rf = malloc(sizeof(float) * nm);
    for (size_t i = 0; i < nm; i++)
        R[i] = Rf[i] = (float)tf_rng_normal(&rng);
    double *w = calloc(nt, sizeof(double)), *ref = calloc(nm, sizeof(double));
    for (size_t i = 0; i < nt; i++)
        w[i] = M.data[i];

    /* 1. forward: training state (batch) and inference (one example at a time) */
    reference(w, ref);
    double scale = 0;
    for (size_t i = 0; i < nm; i++)
        scale = fmax(scale, fabs(ref[i]));
    tfswa_tnet *net = tfswa_tnet_new(&M, B, T, 0);
    const float *m = tfswa_tnet_forward(net, (const float *const *)X, 1);
    double worst = 0;
    for (size_t i = 0; i < nm; i++)
        worst = fmax(worst, fabs(m[i] - ref[i]));
    CHECK(worst <= 1e-5 * scale && scale > 0.1, "training forward: error %g of %g", worst, scale);
    tfswa_runner *run = tfswa_runner_new(&M, T, 1);
    for (int b = 0; b < B; b++) {
        const float *mi = tfswa_forward(run, X[b], T, 0, T);
        double e = 0;
        for (size_t i = 0; i < nm / B; i++)
            e = fmax(e, fabs(mi[i] - ref[b * nm / B + i]));
        CHECK(e <= 1e-5 * scale, "inference forward, example %d: error %g of %g", b, e, scale);
    }
    tfswa_runner_free(run);

    /* 2. every parameter's gradient against double finite differences */
    float *g = calloc(nt, sizeof(float));
    tfswa_tnet_backward(net, Rf, g);
    double gs = 0;
    for (size_t i = 0; i < np; i++)
        gs = fmax(gs, fabs(g[i]));
    double gworst = 0;
    int bad = 0;
    for (size_t i = 0; i < np; i++) {
        double w0 = w[i], h = 1e-6;
        w[i] = w0 + h;
        double lp = loss(w, ref, nm);
        w[i] = w0 - h;
        double lm = loss(w, ref, nm);
        w[i] = w0;
        double fd = (lp - lm) / (2 * h), e = fabs(fd - g[i]);
        gworst = fmax(gworst, e / gs);
        if (e > 1e-5 * gs + 1e-4 * fabs(fd) && bad++ < 5) {
            const char *name = "?";
            for (int k = 0; k < M.layout.n; k++)
                if (i >= M.layout.t[k].offset && i < M.layout.t[k].offset + M.layout.t[k].numel)
                    name = M.layout.t[k].name;
            CHECK(0, "%s[%zu]: analytic %.9g, finite differences %.9g", name, i, (double)g[i], fd);
        }
    }
    CHECK(bad == 0, "%d of %zu gradients off", bad, np);
    for (size_t i = np; i < nt; i++)
        CHECK(g[i] == 0, "buffer %zu got a gradient", i);
    printf("features %s: %zu parameters, worst gradient error %.2g of the scale %.3g; forward error %.2g of %.3g\n",
           tfswa_features_name(features), np, gworst, gs, worst, scale);
    tfswa_tnet_free(net);
    tfswa_model_free(&M);
    for (int b = 0; b < B; b++)
        free(X[b]);
    free(R);
    free(Rf);
    free(w);
    free(ref);
    free(g);
}

int main(void)
{
    tf_set_threads(1);
    run(TFSWA_FEAT_COMPLEX);
    run(TFSWA_FEAT_LOGMAG);
    return check_report("model_band");
}
