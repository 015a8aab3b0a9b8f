/* lib/nn layers against PyTorch 1.13 golden vectors
 * (tests/data/layers/make_golden.py -> golden.txt): torch.nn.Linear,
 * LayerNorm, GELU, Conv2d, ConvTranspose2d (weight (Cin, Cout, kh, kw)),
 * BatchNorm2d in training (running statistics update) and eval mode.
 * Outputs and autograd gradients of sum(dy * y). */
#include "check.h"
#include "nn/layers.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[48];
    int n;
    float *v;
} vec;

static vec vecs[160];
static int nvecs;

static const vec *get(const char *name)
{
    for (int i = 0; i < nvecs; i++)
        if (strcmp(vecs[i].name, name) == 0)
            return &vecs[i];
    fprintf(stderr, "golden vector %s missing\n", name);
    exit(1);
}

static const float *getv(const char *prefix, const char *field, int n)
{
    char name[64];
    snprintf(name, sizeof name, "%s.%s", prefix, field);
    const vec *v = get(name);
    if (v->n != n) {
        fprintf(stderr, "golden vector %s: %d values, expected %d\n", name, v->n, n);
        exit(1);
    }
    return v->v;
}

static void load(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    while (nvecs < 160 && fscanf(f, "%47s %d", vecs[nvecs].name, &vecs[nvecs].n) == 2) {
        vec *v = &vecs[nvecs];
        if (v->n < 0 || v->n > 1000000)
            exit(1);
        v->v = malloc((size_t)(v->n ? v->n : 1) * sizeof(float));
        for (int i = 0; i < v->n; i++)
            if (fscanf(f, "%f", &v->v[i]) != 1) {
                fprintf(stderr, "%s: bad vector %s\n", path, v->name);
                exit(1);
            }
        nvecs++;
    }
    fclose(f);
}

/* max |got - want| <= atol + rtol max|want| */
static void cmpf(const char *what, const float *got, const float *want, int n, double tol)
{
    double maxw = 0.0, maxe = 0.0;
    int worst = 0;
    for (int i = 0; i < n; i++)
        maxw = fmax(maxw, fabs(want[i]));
    for (int i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]);
        if (!(e <= maxe)) {
            maxe = isnan(e) ? INFINITY : e;
            worst = i;
        }
    }
    CHECK(maxe <= tol * (1.0 + maxw), "%s: max error %.3g at %d (got %.9g, torch %.9g)", what, maxe, worst, got[worst],
          want[worst]);
}

static float *zeros(int n) { return calloc((size_t)(n ? n : 1), sizeof(float)); }

static void golden_linear(void)
{
    int n = 4, in = 5, out = 3;
    const char *p = "linear";
    const float *x = getv(p, "x", n * in), *w = getv(p, "w", out * in), *b = getv(p, "b", out);
    const float *dy = getv(p, "dy", n * out);
    float *y = zeros(n * out), *dx = zeros(n * in), *dw = zeros(out * in), *db = zeros(out);
    linear_forward(y, x, w, b, n, in, out);
    linear_backward(dx, dw, db, dy, x, w, n, in, out);
    cmpf("linear y", y, getv(p, "y", n * out), n * out, 1e-6);
    cmpf("linear dx", dx, getv(p, "dx", n * in), n * in, 1e-6);
    cmpf("linear dw", dw, getv(p, "dw", out * in), out * in, 1e-6);
    cmpf("linear db", db, getv(p, "db", out), out, 1e-6);
    free(y), free(dx), free(dw), free(db);
}

static void golden_layernorm(void)
{
    int n = 5, c = 7;
    const char *p = "layernorm";
    const float *x = getv(p, "x", n * c), *g = getv(p, "g", c), *b = getv(p, "b", c), *dy = getv(p, "dy", n * c);
    float *y = zeros(n * c), *m = zeros(n), *rs = zeros(n), *dx = zeros(n * c), *dg = zeros(c), *db = zeros(c);
    layernorm_forward(y, m, rs, x, g, b, n, c, 1e-5f);
    layernorm_backward(dx, dg, db, dy, x, m, rs, g, n, c);
    cmpf("layernorm y", y, getv(p, "y", n * c), n * c, 2e-6);
    cmpf("layernorm dx", dx, getv(p, "dx", n * c), n * c, 2e-6);
    cmpf("layernorm dg", dg, getv(p, "dg", c), c, 2e-6);
    cmpf("layernorm db", db, getv(p, "db", c), c, 2e-6);
    free(y), free(m), free(rs), free(dx), free(dg), free(db);
}

static void golden_gelu(void)
{
    int n = 61;
    const char *p = "gelu";
    const float *x = getv(p, "x", n), *dy = getv(p, "dy", n);
    float *y = zeros(n), *dx = zeros(n);
    gelu_forward(y, x, n);
    gelu_backward(dx, dy, x, n);
    cmpf("gelu y", y, getv(p, "y", n), n, 1e-6);
    cmpf("gelu dx", dx, getv(p, "dx", n), n, 1e-6);
    free(y), free(dx);
}

static void golden_conv(const char *p, int transposed)
{
    char what[96];
    const float *dm = getv(p, "dims", 11);
    conv2d_dims d = {(int)dm[0], (int)dm[1], (int)dm[2], (int)dm[3], (int)dm[4], (int)dm[5],
                     (int)dm[6], (int)dm[7], (int)dm[8], (int)dm[9], (int)dm[10]};
    int Ho = transposed ? convt2d_out_h(&d) : conv2d_out_h(&d), Wo = transposed ? convt2d_out_w(&d) : conv2d_out_w(&d);
    int nx = d.B * d.Cin * d.H * d.W, ny = d.B * d.Cout * Ho * Wo, nw = d.Cout * d.Cin * d.kh * d.kw;
    const float *x = getv(p, "x", nx), *w = getv(p, "w", nw), *b = getv(p, "b", d.Cout), *dy = getv(p, "dy", ny);
    size_t ws = transposed ? convt2d_workspace(&d) : conv2d_workspace(&d);
    float *work = zeros((int)ws), *y = zeros(ny), *dx = zeros(nx), *dw = zeros(nw), *db = zeros(d.Cout);
    if (transposed) {
        convt2d_forward(y, x, w, b, &d, work);
        convt2d_backward(dx, dw, db, dy, x, w, &d, work);
    } else {
        conv2d_forward(y, x, w, b, &d, work);
        conv2d_backward(dx, dw, db, dy, x, w, &d, work);
    }
    snprintf(what, sizeof what, "%s y", p);
    cmpf(what, y, getv(p, "y", ny), ny, 2e-6);
    snprintf(what, sizeof what, "%s dx", p);
    cmpf(what, dx, getv(p, "dx", nx), nx, 2e-6);
    snprintf(what, sizeof what, "%s dw", p);
    cmpf(what, dw, getv(p, "dw", nw), nw, 2e-6);
    snprintf(what, sizeof what, "%s db", p);
    cmpf(what, db, getv(p, "db", d.Cout), d.Cout, 2e-6);
    free(work), free(y), free(dx), free(dw), free(db);
}

static void golden_batchnorm(void)
{
    int B = 2, C = 3, HW = 20, n = B * C * HW;
    float *rm = zeros(C), *rv = zeros(C);
    memcpy(rm, get("bn.running_mean0")->v, (size_t)C * sizeof(float));
    memcpy(rv, get("bn.running_var0")->v, (size_t)C * sizeof(float));
    float *y = zeros(n), *m = zeros(C), *rs = zeros(C), *dx = zeros(n), *dg = zeros(C), *db = zeros(C);
    const char *p = "bn_train";
    const float *x = getv(p, "x", n), *g = getv(p, "g", C), *b = getv(p, "b", C), *dy = getv(p, "dy", n);
    batchnorm_forward_train(y, m, rs, rm, rv, x, g, b, B, C, HW, 0.1f, 1e-5f);
    batchnorm_backward(dx, dg, db, dy, x, m, rs, g, B, C, HW);
    cmpf("batchnorm train y", y, getv(p, "y", n), n, 2e-6);
    cmpf("batchnorm train dx", dx, getv(p, "dx", n), n, 2e-6);
    cmpf("batchnorm train dg", dg, getv(p, "dg", C), C, 2e-6);
    cmpf("batchnorm train db", db, getv(p, "db", C), C, 2e-6);
    cmpf("batchnorm running_mean", rm, getv("bn", "running_mean1", C), C, 1e-6);
    cmpf("batchnorm running_var", rv, getv("bn", "running_var1", C), C, 1e-6);

    p = "bn_eval";
    x = getv(p, "x", n), g = getv(p, "g", C), b = getv(p, "b", C);
    batchnorm_forward_eval(y, x, g, b, rm, rv, B, C, HW, 1e-5f);
    cmpf("batchnorm eval y", y, getv(p, "y", n), n, 2e-6);
    free(rm), free(rv), free(y), free(m), free(rs), free(dx), free(dg), free(db);
}

int main(void)
{
    const char *top = getenv("TOP");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/layers/golden.txt", top ? top : ".");
    load(path);
    golden_linear();
    golden_layernorm();
    golden_gelu();
    golden_conv("conv_a", 0);
    golden_conv("conv_stem", 0);
    golden_conv("conv_down", 0);
    golden_conv("conv_head1", 0);
    golden_conv("convt_up", 1);
    golden_conv("convt_b", 1);
    golden_batchnorm();
    for (int i = 0; i < nvecs; i++)
        free(vecs[i].v);
    return check_report("layers_golden");
}
