/* Conv2d and ConvTranspose2d (PyTorch semantics) through im2col / col2im
 * and OpenBLAS sgemm, one image at a time and tiled over rows of the
 * convolution grid so the column buffer stays bounded (see conv_tile_rows
 * and layers.h for the workspace size). A 1x1 convolution with stride 1 and
 * no padding needs no column buffer at all. */
#include "nn/layers.h"
#include "nn/layers_impl.h"

#include <cblas.h>
#include <string.h>

/* Column-buffer budget per tile, in floats (2 MiB: the tile stays in cache
 * between im2col and the GEMM, which larger tiles lose); a tile is at least one
 * grid row, so the workspace is max(CONV_TILE_FLOATS, K * grid_width)
 * rounded down to whole rows. */
#define CONV_TILE_FLOATS nn_conv_tile_floats

/* Geometry of a convolution "grid": image (C, Hi, Wi) seen through a
 * (kh, kw) kernel with stride and padding gives a grid (Hg, Wg); column
 * matrix rows are (c, i, j), columns are grid positions. */
typedef struct {
    int C, Hi, Wi, kh, kw, sh, sw, ph, pw, Hg, Wg;
} geom;

static int is_pointwise(const conv2d_dims *d)
{
    return d->kh == 1 && d->kw == 1 && d->sh == 1 && d->sw == 1 && d->ph == 0 && d->pw == 0;
}

static int tile_rows(int64_t K, int Hg, int Wg)
{
    int64_t per_row = K * (int64_t)Wg;
    int64_t r = per_row > 0 ? (int64_t)CONV_TILE_FLOATS / per_row : Hg;
    if (r < 1)
        r = 1;
    if (r > Hg)
        r = Hg;
    return (int)r;
}

/* Range of grid columns ow whose input column ow*sw - pw + j lies in [0, Wi). */
static void valid_cols(const geom *g, int j, int *lo, int *hi)
{
    int a = 0, b = g->Wg;
    /* ow*sw >= pw - j */
    int need = g->pw - j;
    if (need > 0)
        a = (need + g->sw - 1) / g->sw;
    /* ow*sw - pw + j <= Wi - 1  ->  ow <= (Wi - 1 + pw - j) / sw */
    int top = g->Wi - 1 + g->pw - j;
    if (top < 0)
        b = 0;
    else if (top / g->sw + 1 < b)
        b = top / g->sw + 1;
    if (a > b)
        a = b;
    *lo = a;
    *hi = b;
}

/* im2col and col2im run on the calling thread: they are memory-bound copies,
 * and an OpenMP region per tile between OpenBLAS calls (whose pthread pool
 * is separate from libgomp's) made 2-thread convolutions many times slower
 * on a busy machine, the two pools' spinning threads fighting for the cores.
 * The threads go to the GEMMs. */

/* col (C*kh*kw, (r1-r0)*Wg) = patches of img for grid rows r0..r1. */
static void im2col(float *col, const float *img, const geom *g, int r0, int r1)
{
    int64_t K = (int64_t)g->C * g->kh * g->kw, nt = (int64_t)(r1 - r0) * g->Wg;
    for (int64_t k = 0; k < K; k++) {
        int c = (int)(k / (g->kh * g->kw)), i = (int)(k / g->kw % g->kh), j = (int)(k % g->kw);
        int lo, hi;
        valid_cols(g, j, &lo, &hi);
        const float *plane = img + (int64_t)c * g->Hi * g->Wi;
        float *out = col + k * nt;
        for (int r = r0; r < r1; r++) {
            float *o = out + (int64_t)(r - r0) * g->Wg;
            int ih = r * g->sh - g->ph + i;
            if (ih < 0 || ih >= g->Hi) {
                memset(o, 0, (size_t)g->Wg * sizeof(float));
                continue;
            }
            int64_t base = (int64_t)ih * g->Wi - g->pw + j; /* + ow * sw, >= 0 for ow >= lo */
            for (int ow = 0; ow < lo; ow++)
                o[ow] = 0.0f;
            if (g->sw == 1) {
                if (hi > lo)
                    memcpy(o + lo, plane + base + lo, (size_t)(hi - lo) * sizeof(float));
            } else {
                for (int ow = lo; ow < hi; ow++)
                    o[ow] = plane[base + (int64_t)ow * g->sw];
            }
            for (int ow = hi; ow < g->Wg; ow++)
                o[ow] = 0.0f;
        }
    }
}

/* img += col2im(col) for grid rows r0..r1, in a fixed order. */
static void col2im_acc(float *img, const float *col, const geom *g, int r0, int r1)
{
    int64_t nt = (int64_t)(r1 - r0) * g->Wg;
    int kk = g->kh * g->kw;
    for (int c = 0; c < g->C; c++) {
        float *plane = img + (int64_t)c * g->Hi * g->Wi;
        for (int i = 0; i < g->kh; i++)
            for (int j = 0; j < g->kw; j++) {
                int lo, hi;
                valid_cols(g, j, &lo, &hi);
                const float *in = col + ((int64_t)c * kk + i * g->kw + j) * nt;
                for (int r = r0; r < r1; r++) {
                    int ih = r * g->sh - g->ph + i;
                    if (ih < 0 || ih >= g->Hi)
                        continue;
                    const float *s = in + (int64_t)(r - r0) * g->Wg;
                    int64_t base = (int64_t)ih * g->Wi - g->pw + j;
                    if (g->sw == 1) {
                        float *dst = plane + base + lo;
                        const float *sp = s + lo;
                        for (int ow = 0; ow < hi - lo; ow++)
                            dst[ow] += sp[ow];
                    } else {
                        for (int ow = lo; ow < hi; ow++)
                            plane[base + (int64_t)ow * g->sw] += s[ow];
                    }
                }
            }
    }
}

/* y (B, C, P) = bias per channel (or 0). */
static void fill_bias(float *y, const float *b, int B, int C, int64_t P)
{
#pragma omp parallel for collapse(2) schedule(static) if ((int64_t)B * C * P > 65536)
    for (int bi = 0; bi < B; bi++)
        for (int c = 0; c < C; c++) {
            float v = b ? b[c] : 0.0f, *p = y + ((int64_t)bi * C + c) * P;
            for (int64_t i = 0; i < P; i++)
                p[i] = v;
        }
}

/* db[c] += sum over b and P of dy; parallel over channels (fixed order). */
static void bias_grad(float *db, const float *dy, int B, int C, int64_t P)
{
#pragma omp parallel for schedule(static) if ((int64_t)B * C * P > 65536)
    for (int c = 0; c < C; c++) {
        double s = 0.0;
        for (int bi = 0; bi < B; bi++) {
            const float *p = dy + ((int64_t)bi * C + c) * P;
            double t = 0.0;
#pragma omp simd reduction(+ : t)
            for (int64_t i = 0; i < P; i++)
                t += p[i];
            s += t;
        }
        db[c] += (float)s;
    }
}

/* ------------------------------------------------------------------ Conv2d */

int conv2d_out_h(const conv2d_dims *d) { return (d->H + 2 * d->ph - d->kh) / d->sh + 1; }
int conv2d_out_w(const conv2d_dims *d) { return (d->W + 2 * d->pw - d->kw) / d->sw + 1; }

static geom conv_geom(const conv2d_dims *d)
{
    geom g = {d->Cin, d->H, d->W, d->kh, d->kw, d->sh, d->sw, d->ph, d->pw, conv2d_out_h(d), conv2d_out_w(d)};
    return g;
}

/* The column buffer of a convolution whose image and grid are g: one tile
 * of tile_rows grid rows of K = C kh kw columns (none for 1x1 ones). */
static size_t geom_workspace(const conv2d_dims *d, geom g)
{
    if (is_pointwise(d))
        return 0;
    int64_t K = (int64_t)g.C * g.kh * g.kw;
    return (size_t)(K * tile_rows(K, g.Hg, g.Wg) * g.Wg);
}

size_t conv2d_workspace(const conv2d_dims *d) { return geom_workspace(d, conv_geom(d)); }

void conv2d_forward(float *y, const float *x, const float *w, const float *b, const conv2d_dims *d, float *work)
{
    geom g = conv_geom(d);
    int K = d->Cin * d->kh * d->kw, Ho = g.Hg, Wo = g.Wg;
    int64_t P = (int64_t)Ho * Wo, HWi = (int64_t)d->H * d->W;
    float beta = b ? 1.0f : 0.0f;
    if (b)
        fill_bias(y, b, d->B, d->Cout, P);
    int R = tile_rows(K, Ho, Wo);
    for (int bi = 0; bi < d->B; bi++) {
        const float *xb = x + (int64_t)bi * d->Cin * HWi;
        float *yb = y + (int64_t)bi * d->Cout * P;
        if (is_pointwise(d)) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->Cout, (int)P, K, 1.0f, w, K, xb, (int)P, beta, yb,
                        (int)P);
            continue;
        }
        for (int r0 = 0; r0 < Ho; r0 += R) {
            int r1 = r0 + R < Ho ? r0 + R : Ho, nt = (r1 - r0) * Wo;
            im2col(work, xb, &g, r0, r1);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->Cout, nt, K, 1.0f, w, K, work, nt, beta,
                        yb + (int64_t)r0 * Wo, (int)P);
        }
    }
}

void conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                     const conv2d_dims *d, float *work)
{
    geom g = conv_geom(d);
    int K = d->Cin * d->kh * d->kw, Ho = g.Hg, Wo = g.Wg;
    int64_t P = (int64_t)Ho * Wo, HWi = (int64_t)d->H * d->W;
    int R = tile_rows(K, Ho, Wo);
    if (db)
        bias_grad(db, dy, d->B, d->Cout, P);
    for (int bi = 0; bi < d->B; bi++) {
        const float *xb = x + (int64_t)bi * d->Cin * HWi, *dyb = dy + (int64_t)bi * d->Cout * P;
        float *dxb = dx ? dx + (int64_t)bi * d->Cin * HWi : NULL;
        if (is_pointwise(d)) {
            if (dw) /* dw (Cout, Cin) += dy (Cout, P) x^T (P, Cin) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d->Cout, K, (int)P, 1.0f, dyb, (int)P, xb, (int)P,
                            1.0f, dw, K);
            if (dxb) /* dx (Cin, P) += w^T (Cin, Cout) dy (Cout, P) */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, (int)P, d->Cout, 1.0f, w, K, dyb, (int)P, 1.0f,
                            dxb, (int)P);
            continue;
        }
        for (int r0 = 0; r0 < Ho; r0 += R) {
            int r1 = r0 + R < Ho ? r0 + R : Ho, nt = (r1 - r0) * Wo;
            const float *dyt = dyb + (int64_t)r0 * Wo;
            if (dw) {
                im2col(work, xb, &g, r0, r1);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d->Cout, K, nt, 1.0f, dyt, (int)P, work, nt, 1.0f,
                            dw, K);
            }
            if (dxb) {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, nt, d->Cout, 1.0f, w, K, dyt, (int)P, 0.0f,
                            work, nt);
                col2im_acc(dxb, work, &g, r0, r1);
            }
        }
    }
}

/* ------------------------------------------------------------------ ConvTranspose2d */

int convt2d_out_h(const conv2d_dims *d) { return (d->H - 1) * d->sh - 2 * d->ph + d->kh; }
int convt2d_out_w(const conv2d_dims *d) { return (d->W - 1) * d->sw - 2 * d->pw + d->kw; }

/* The image is the output y (Cout, H', W'); the grid is the input (H, W). */
static geom convt_geom(const conv2d_dims *d)
{
    geom g = {d->Cout, convt2d_out_h(d), convt2d_out_w(d), d->kh, d->kw, d->sh, d->sw, d->ph, d->pw, d->H, d->W};
    return g;
}

size_t convt2d_workspace(const conv2d_dims *d) { return geom_workspace(d, convt_geom(d)); }

void convt2d_forward(float *y, const float *x, const float *w, const float *b, const conv2d_dims *d, float *work)
{
    geom g = convt_geom(d);
    int K = d->Cout * d->kh * d->kw, H = d->H, W = d->W;
    int64_t P = (int64_t)g.Hi * g.Wi, HW = (int64_t)H * W;
    fill_bias(y, b, d->B, d->Cout, P);
    int R = tile_rows(K, H, W);
    for (int bi = 0; bi < d->B; bi++) {
        const float *xb = x + (int64_t)bi * d->Cin * HW;
        float *yb = y + (int64_t)bi * d->Cout * P;
        if (is_pointwise(d)) { /* y (Cout, P) += w^T (Cout, Cin) x (Cin, P) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d->Cout, (int)HW, d->Cin, 1.0f, w, K, xb, (int)HW,
                        1.0f, yb, (int)HW);
            continue;
        }
        for (int r0 = 0; r0 < H; r0 += R) {
            int r1 = r0 + R < H ? r0 + R : H, nt = (r1 - r0) * W;
            /* col (K, nt) = w^T (K, Cin) x_tile (Cin, nt) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, nt, d->Cin, 1.0f, w, K, xb + (int64_t)r0 * W,
                        (int)HW, 0.0f, work, nt);
            col2im_acc(yb, work, &g, r0, r1);
        }
    }
}

void convt2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                      const conv2d_dims *d, float *work)
{
    geom g = convt_geom(d);
    int K = d->Cout * d->kh * d->kw, H = d->H, W = d->W;
    int64_t P = (int64_t)g.Hi * g.Wi, HW = (int64_t)H * W;
    int R = tile_rows(K, H, W);
    if (db)
        bias_grad(db, dy, d->B, d->Cout, P);
    for (int bi = 0; bi < d->B; bi++) {
        const float *xb = x + (int64_t)bi * d->Cin * HW, *dyb = dy + (int64_t)bi * d->Cout * P;
        float *dxb = dx ? dx + (int64_t)bi * d->Cin * HW : NULL;
        if (is_pointwise(d)) {
            if (dxb) /* dx (Cin, P) += w (Cin, Cout) dy (Cout, P) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->Cin, (int)HW, d->Cout, 1.0f, w, K, dyb,
                            (int)HW, 1.0f, dxb, (int)HW);
            if (dw) /* dw (Cin, Cout) += x (Cin, P) dy^T (P, Cout) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d->Cin, K, (int)HW, 1.0f, xb, (int)HW, dyb,
                            (int)HW, 1.0f, dw, K);
            continue;
        }
        if (!dxb && !dw)
            continue;
        for (int r0 = 0; r0 < H; r0 += R) {
            int r1 = r0 + R < H ? r0 + R : H, nt = (r1 - r0) * W;
            im2col(work, dyb, &g, r0, r1);
            if (dxb) /* dx_tile (Cin, nt) += w (Cin, K) col (K, nt) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->Cin, nt, K, 1.0f, w, K, work, nt, 1.0f,
                            dxb + (int64_t)r0 * W, (int)HW);
            if (dw) /* dw (Cin, K) += x_tile (Cin, nt) col^T (nt, K) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d->Cin, K, nt, 1.0f, xb + (int64_t)r0 * W, (int)HW,
                            work, nt, 1.0f, dw, K);
        }
    }
}
