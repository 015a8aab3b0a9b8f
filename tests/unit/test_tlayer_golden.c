/* The TFSWA transformer layer against golden vectors from PyTorch
 * (tests/data/attention/make_golden.py): output, dx and every parameter
 * gradient for the four kinds, at head dims 4 and 4 with window 4 and 8,
 * with padding and odd sizes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/tlayer.h"
#include "util/cli.h"

static float *readf(FILE *f, size_t n)
{
    float *x = malloc(sizeof(float) * (n ? n : 1));
    if (fread(x, sizeof(float), n, f) != n) {
        free(x);
        return NULL;
    }
    return x;
}

/* max |a - b| <= tol * max(1, max |b|) */
static void compare(const float *a, const float *b, size_t n, double tol, const char *what, const char *file)
{
    double e = 0, m = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > e || isnan(d))
            e = d, at = i;
        m = fmax(m, fabs(b[i]));
    }
    CHECK(e <= tol * fmax(1.0, m), "%s: %s: max error %.3g at %zu (%.7g vs %.7g), max |ref| %.3g", file, what, e, at,
          a[at], b[at], m);
}

static void run(const char *top, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/attention/%s", top, name);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f)
        return;
    int32_t h[8];
    CHECK(fread(h, sizeof h, 1, f) == 1, "%s: short header", name);
    tlayer_config c = {(tlayer_kind)h[0], h[1], h[2], h[3], h[4]};
    int B = h[5], F = h[6], T = h[7];
    size_t N = (size_t)B * F * T * c.C, np = tlayer_num_params(&c);
    float *x = readf(f, N), *par = readf(f, np), *dy = readf(f, N), *y = readf(f, N), *dx = readf(f, N),
          *dpar = readf(f, np);
    CHECK(x && par && dy && y && dx && dpar && fgetc(f) == EOF, "%s: size does not match its header", name);
    fclose(f);
    if (x && par && dy && y && dx && dpar) {
        float *y2 = malloc(sizeof(float) * N), *dx2 = calloc(N, sizeof(float)), *g2 = calloc(np, sizeof(float));
        float *act = malloc(sizeof(float) * tlayer_act_size(&c, B, F, T));
        float *scr = malloc(sizeof(float) * tlayer_scratch_size(&c, B, F, T));
        tlayer_params p, g;
        tlayer_bind(&p, par, &c);
        tlayer_bind(&g, g2, &c);
        tlayer_forward(y2, x, &p, &c, B, F, T, act, scr);
        tlayer_backward(dx2, &g, dy, x, &p, &c, B, F, T, act, scr);
        compare(y2, y, N, 2e-5, "y", name);
        compare(dx2, dx, N, 1e-4, "dx", name);
        /* each parameter tensor on its own scale */
        tlayer_params r;
        tlayer_bind(&r, dpar, &c);
        const float *mine[13] = {g.ln1_g, g.ln1_b, g.qkv_w, g.qkv_b, g.proj_w, g.proj_b, g.rel_bias,
                                 g.ln2_g, g.ln2_b, g.fc1_w, g.fc1_b, g.fc2_w,  g.fc2_b};
        const float *ref[13] = {r.ln1_g, r.ln1_b, r.qkv_w, r.qkv_b, r.proj_w, r.proj_b, r.rel_bias,
                                r.ln2_g, r.ln2_b, r.fc1_w, r.fc1_b, r.fc2_w,  r.fc2_b};
        static const char *pn[13] = {"ln1_g", "ln1_b", "qkv_w", "qkv_b", "proj_w", "proj_b", "rel_bias",
                                     "ln2_g", "ln2_b", "fc1_w", "fc1_b", "fc2_w",  "fc2_b"};
        size_t C = (size_t)c.C, Hd = (size_t)c.hidden;
        size_t sz[13] = {C, C, 3 * C * C, 3 * C, C * C,  C, (size_t)(2 * c.window - 1) * (2 * c.window - 1) * c.heads,
                         C, C, Hd * C,    Hd,    C * Hd, C};
        for (int t = 0; t < 13; t++)
            if (mine[t])
                compare(mine[t], ref[t], sz[t], 1e-4, pn[t], name);
        free(y2);
        free(dx2);
        free(g2);
        free(act);
        free(scr);
    }
    free(x);
    free(par);
    free(dy);
    free(y);
    free(dx);
    free(dpar);
}

int main(void)
{
    tf_set_threads(2);
    const char *top = getenv("TOP") ? getenv("TOP") : ".";
    static const char *files[] = {"golden_time.bin",      "golden_freq.bin",      "golden_window.bin",
                                  "golden_shifted.bin",   "golden_time_d4.bin",   "golden_freq_d4.bin",
                                  "golden_window_d4.bin", "golden_shifted_d4.bin"};
    for (int i = 0; i < 8; i++)
        run(top, files[i]);
    return check_report("test_tlayer_golden");
}
