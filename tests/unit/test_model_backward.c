/* Whole-model gradient check of the TFSWA-UNet in training mode
 * (lib/model/grad.h) against central finite differences.
 *
 * A small model (n_fft 32: F = 17 bins, T = 16 frames, batch 2, 8 channels,
 * window 4, the bottom with two blocks) and the loss L = sum_i m_i r_i over
 * its masks m with fixed random r, evaluated in double from the float masks.
 * The layers are float, so the finite differences are float differences:
 * step h = 1e-2 with Richardson extrapolation (4 D(h/2) - D(h)) / 3, whose
 * truncation error is O(h^4); the rounding noise of L (float masks,
 * about 6e-8 sqrt(N) rms(m r), N = 4352 outputs) over 2h is then ~1e-4 of
 * the gradients' scale. Checks:
 *  1. directional derivatives along 4 random directions over all parameters
 *     (every parameter contributes), relative error < 1e-3;
 *  2. one parameter of every trainable tensor (every module: convs, BN,
 *     LayerNorms, qkv, proj, bias tables, MLPs, head), each within
 *     2e-3 of the gradient's scale plus 2 % of its value;
 *  3. recompute per block gives bit-identical gradients;
 *  4. the BN running statistics are not changed by update = 0 and are by 1;
 *  5. the mask product est = M * X and tfswa_estimate_backward are adjoint.
 * A broken backward (e.g. a dropped term) fails 1 and 2.
 *
 * Checks 1 and 2 run again on a small band model (lib/model/net.h: n_fft 32,
 * bands 1,2,3,4,7, D 8, two blocks, window 4, T = 11 so that both grid axes
 * are padded in the window layers), every tensor of every band included:
 * its embedding (LayerNorm + Linear), the transformer layers, the final
 * LayerNorm and the per-band mask MLP; and its recompute flag (no effect)
 * must give identical gradients. */
#include "check.h"
#include "model/forward.h"
#include "model/grad.h"
#include "model/mask.h"
#include "model/model.h"
#include "util/cli.h"
#include "util/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { B = 2 };
static int T;

static tfswa_model M;
static tfswa_tnet *NET;
static float *R;
static size_t NOUT;

static const float *XS[B];

static double eval(void)
{
    const float *m = tfswa_tnet_forward(NET, XS, 0);
    double s = 0;
    for (size_t i = 0; i < NOUT; i++)
        s += (double)m[i] * R[i];
    return s;
}

/* d L / d w[idx] by Richardson-extrapolated central differences */
static double fd_param(size_t idx, double h)
{
    float *w = M.data + idx, w0 = *w;
    double d[2];
    for (int k = 0; k < 2; k++) {
        float hk = (float)(h / (1 << k));
        *w = w0 + hk;
        double lp = eval();
        *w = w0 - hk;
        double lm = eval();
        *w = w0;
        d[k] = (lp - lm) / ((double)(w0 + hk) - (double)(w0 - hk));
    }
    return (4 * d[1] - d[0]) / 3;
}

static void check_model(const tfswa_config *cfg, int frames)
{
    const tfswa_config c = *cfg;
    const int unet = c.arch == TFSWA_ARCH_UNET;
    T = frames;
    printf("%s model, %d frames\n", unet ? "U-Net" : "band", T);
    char err[256];
    CHECK(tfswa_config_check(&c, err, sizeof err) == 0, "config: %s", err);
    tfswa_model_alloc(&M, &c);
    tfswa_model_init_weights(&M);
    tf_rng rng;
    tf_rng_seed(&rng, 42);
    const int F = tfswa_bins(&c);
    /* BN running stats and input statistics away from the defaults */
    for (size_t i = M.layout.n_params; i < M.layout.n_total; i++)
        M.data[i] = (float)tf_rng_range(&rng, 0.5, 1.5);
    /* norm gains and biases away from 1 and 0 so their gradients are generic */
    for (int k = 0; k < M.layout.n; k++) {
        tfswa_tensor *t = &M.layout.t[k];
        if (t->trainable && (t->init == TFSWA_INIT_ONES || t->init == TFSWA_INIT_ZEROS))
            for (size_t i = 0; i < t->numel; i++)
                M.data[t->offset + i] += (float)tf_rng_range(&rng, -0.3, 0.3);
    }
    float *X[B];
    for (int b = 0; b < B; b++) {
        X[b] = malloc(sizeof(float) * 2 * 2 * F * T);
        for (int i = 0; i < 2 * 2 * F * T; i++)
            X[b][i] = (float)tf_rng_normal(&rng);
        XS[b] = X[b];
    }
    NOUT = (size_t)B * 4 * c.n_stems * F * T;
    R = malloc(sizeof(float) * NOUT);
    for (size_t i = 0; i < NOUT; i++)
        R[i] = (float)tf_rng_normal(&rng);

    const size_t np = M.layout.n_params, nt = M.layout.n_total;
    float *g = calloc(nt, sizeof(float)), *g2 = calloc(nt, sizeof(float));
    NET = tfswa_tnet_new(&M, B, T, 0);
    /* 4. update = 0 leaves the running statistics */
    float *buf0 = malloc(sizeof(float) * (nt - np));
    memcpy(buf0, M.data + np, sizeof(float) * (nt - np));
    tfswa_tnet_forward(NET, XS, 0);
    CHECK(memcmp(buf0, M.data + np, sizeof(float) * (nt - np)) == 0, "update=0 changed buffers");
    double L0 = eval();
    tfswa_tnet_backward(NET, R, g);
    for (size_t i = np; i < nt; i++)
        CHECK(g[i] == 0, "gradient of buffer %zu", i);
    double scale = 0;
    for (size_t i = 0; i < np; i++)
        scale = fmax(scale, fabs(g[i]));
    CHECK(isfinite(L0) && scale > 0, "loss %g, gradient scale %g", L0, scale);

    /* 1. directional derivatives */
    float *w0 = malloc(sizeof(float) * np), *v = malloc(sizeof(float) * np);
    memcpy(w0, M.data, sizeof(float) * np);
    for (int k = 0; k < 4; k++) {
        double gv = 0, vn = 0;
        for (size_t i = 0; i < np; i++) {
            v[i] = (float)tf_rng_normal(&rng);
            vn += (double)v[i] * v[i];
        }
        vn = sqrt(vn);
        for (size_t i = 0; i < np; i++) {
            v[i] = (float)(v[i] / vn);
            gv += (double)g[i] * v[i];
        }
        double d[2];
        for (int j = 0; j < 2; j++) {
            double h = 2e-2 / (1 << j);
            for (size_t i = 0; i < np; i++)
                M.data[i] = (float)(w0[i] + h * v[i]);
            double lp = eval();
            for (size_t i = 0; i < np; i++)
                M.data[i] = (float)(w0[i] - h * v[i]);
            double lm = eval();
            d[j] = (lp - lm) / (2 * h);
        }
        memcpy(M.data, w0, sizeof(float) * np);
        double fd = (4 * d[1] - d[0]) / 3;
        CHECK(fabs(fd - gv) <= 1e-3 * fabs(gv) + 1e-4 * scale, "direction %d: analytic %.8g, finite differences %.8g",
              k, gv, fd);
        printf("direction %d: analytic %.8g fd %.8g rel %.2g\n", k, gv, fd, fabs(fd - gv) / fabs(gv));
    }

    /* 2. one entry of every trainable tensor */
    int n_checked = 0;
    double worst = 0;
    for (int k = 0; k < M.layout.n; k++) {
        tfswa_tensor *t = &M.layout.t[k];
        if (!t->trainable)
            continue;
        for (int j = 0; j < 1; j++) {
            size_t idx = t->offset + (size_t)tf_rng_below(&rng, t->numel);
            double fd = fd_param(idx, 1e-2);
            double tol = 2e-3 * scale + 2e-2 * fabs(fd);
            CHECK(fabs(fd - g[idx]) <= tol, "%s[%zu]: analytic %.8g, finite differences %.8g", t->name, idx - t->offset,
                  g[idx], fd);
            worst = fmax(worst, fabs(fd - g[idx]) / scale);
            n_checked++;
        }
    }
    printf("%d parameters checked, worst error %.2g of the gradient scale %.3g\n", n_checked, worst, scale);

    /* 3. recompute per block: identical gradients */
    tfswa_tnet *net2 = tfswa_tnet_new(&M, B, T, 1);
    const float *m2 = tfswa_tnet_forward(net2, XS, 0);
    const float *m1 = tfswa_tnet_forward(NET, XS, 0);
    CHECK(memcmp(m1, m2, sizeof(float) * NOUT) == 0, "recompute: forward differs");
    tfswa_tnet_backward(net2, R, g2);
    CHECK(memcmp(g, g2, sizeof(float) * nt) == 0, "recompute: gradients differ");
    if (unet)
        CHECK(tfswa_tnet_bytes(net2) < tfswa_tnet_bytes(NET), "recompute: %zu bytes, stored %zu",
              tfswa_tnet_bytes(net2), tfswa_tnet_bytes(NET));

    /* 4. update = 1 moves the running statistics towards the batch's (the
     * band model has none: its buffers stay) */
    tfswa_tnet_forward(net2, XS, 1);
    if (unet)
        CHECK(memcmp(buf0, M.data + np, sizeof(float) * (nt - np)) != 0, "update=1 left the running statistics");
    else
        CHECK(memcmp(buf0, M.data + np, sizeof(float) * (nt - np)) == 0, "band: update=1 changed buffers");
    CHECK(memcmp(buf0 + (nt - np) - 8 * F, M.data + nt - 8 * F, sizeof(float) * 8 * F) == 0, "update=1 changed norm.*");

    /* 5. est = M * X (tfswa_estimate) and its adjoint: <dest, J dm> = <J^T dest, dm>
     * in double, for random dm and dest (the map is linear in the masks) */
    {
        const int S = c.n_stems;
        size_t nm = (size_t)4 * S * F * T, ne = (size_t)4 * F * T;
        float *dm = malloc(sizeof(float) * nm), *jt = calloc(nm, sizeof(float));
        float *de = malloc(sizeof(float) * ne), *e = malloc(sizeof(float) * ne);
        for (size_t i = 0; i < nm; i++)
            dm[i] = (float)tf_rng_normal(&rng);
        for (size_t i = 0; i < ne; i++)
            de[i] = (float)tf_rng_normal(&rng);
        for (int s = 0; s < S; s++) {
            tfswa_estimate(e, dm, &c, s, X[0], F, T, 0, T);
            memset(jt, 0, sizeof(float) * nm);
            tfswa_estimate_backward(jt, de, &c, s, X[0], F, T);
            double lhs = 0, rhs = 0, mag = 0;
            for (size_t i = 0; i < ne; i++)
                lhs += (double)de[i] * e[i], mag += fabs((double)de[i] * e[i]);
            for (size_t i = 0; i < nm; i++)
                rhs += (double)jt[i] * dm[i];
            CHECK(fabs(lhs - rhs) <= 1e-5 * mag, "apply_mask adjoint, stem %d: %.9g vs %.9g", s, lhs, rhs);
            /* only stem s's masks get a gradient */
            double other = 0;
            for (size_t i = 0; i < nm; i++)
                if (i / ((size_t)4 * F * T) != (size_t)s)
                    other += fabs(jt[i]);
            CHECK(other == 0, "apply_mask adjoint, stem %d touches other stems", s);
        }
        free(dm);
        free(jt);
        free(de);
        free(e);
    }

    tfswa_tnet_free(net2);
    tfswa_tnet_free(NET);
    tfswa_model_free(&M);
    for (int b = 0; b < B; b++)
        free(X[b]);
    free(R);
    free(g);
    free(g2);
    free(w0);
    free(v);
    free(buf0);
}

int main(void)
{
    tf_set_threads(1); /* small problems: OpenMP threads would only spin */
    setvbuf(stdout, NULL, _IOLBF, 0);
    static const int unet_depths[4] = {1, 1, 1, 2}, band_depths[4] = {2, 2, 2, 2};
    static const int widths[] = {1, 2, 3, 4, 7};
    for (int band = 0; band < 2; band++) {
        tfswa_config c;
        tfswa_preset(&c, band ? "band" : "tiny");
        snprintf(c.preset, sizeof c.preset, "custom");
        for (int i = 0; i < 4; i++) {
            c.depths[i] = (band ? band_depths : unet_depths)[i];
            c.dims[i] = 8;
            c.heads[i] = 2;
        }
        c.window = 4;
        c.mlp_ratio = 2;
        c.n_fft = 32;
        c.hop = 8;
        c.n_stems = 2;
        c.seed = band ? 5 : 3;
        if (band) {
            c.n_bands = 5;
            memcpy(c.bands, widths, sizeof widths);
            c.mask_hidden = 6;
        }
        check_model(&c, band ? 11 : 16);
    }
    return check_report("model_backward");
}
