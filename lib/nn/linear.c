/* Linear layer: register-blocked AVX2/FMA kernels for skinny shapes (few
 * channels, many tokens: the TFSWA layers at C = 16..64), OpenBLAS sgemm for
 * the rest.
 *
 * Why own kernels: with C_in or C_out of 16..64 OpenBLAS spends most of its
 * time packing panels (oncopy/itcopy/otcopy) and in the edges of its
 * micro-kernel (K = 16 uses it poorly). Here one micro-kernel
 *
 *   C[r, c] (+)= sum_k A[r ars + k aks] B[k bks + c],  r < R <= 6, c < 16,
 *
 * keeps a 6 x 16 tile of C in 12 ymm registers, broadcasts A and streams
 * B rows, with no packing of the token-sized operands:
 *   forward  y  = x W^T + b   A = x rows, B = W^T (packed once, in x out)
 *   dx       dx += dy W       A = dy rows, B = W (out x in) as it is
 *   dW       dW += dy^T x     A = dy columns, B = x rows, over chunks of
 *                             tokens (the chunk stays in L2; each tile's
 *                             chunk sum is added to dW: two-level summation)
 *   db       folded into the dW pass (column sums of the chunk in cache)
 * Fused epilogues (the tile is still in registers): bias, a residual input
 * (linear_forward_res), GELU with the pre-activation kept
 * (linear_gelu_forward), dx overwritten instead of accumulated
 * (linear_backward_set).
 * Every output element is summed by one thread in a fixed order, so results
 * do not depend on the thread count at all. Which path runs is chosen per
 * product by shape (use_own); nn_linear_mode forces one for tests and
 * the benchmark. Without AVX2 + FMA everything goes to OpenBLAS. */
#include "nn/layers.h"
#include "nn/layers_impl.h"
#include "nn/precision.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "util/cli.h"

#ifdef NN_HAVE_AVX2 /* layers_impl.h: AVX2 + FMA */
#define HAVE_OWN 1
#else
#define HAVE_OWN 0
#endif

/* BLAS takes int dimensions: split the rows so every call stays far below
 * INT_MAX elements in each operand. */
static int64_t row_block(int cols)
{
    int64_t lim = ((int64_t)1 << 30) / (cols > 0 ? cols : 1);
    return lim > 0 ? lim : 1;
}

/* ------------------------------------------------------------------ micro-kernel */
#if HAVE_OWN

#define MR 6  /* rows of a tile */
#define NC 16 /* columns of a tile (2 vectors) */

/* What a tile does with its sums S (C, res and pre share the row stride crs). */
enum {
    EP_SET,  /* C = S + bias */
    EP_ACC,  /* C += S */
    EP_RES,  /* C = res + S + bias (res may be C) */
    EP_GELU, /* pre = S + bias (unless pre is NULL), C = GELU(S + bias) */
};

typedef struct {
    const float *A;
    int64_t ars, aks; /* A[r, k] = A[r ars + k aks] */
    const float *B;
    int64_t bks; /* B[k, c] = B[k bks + c] */
    int64_t K;
    float *C;
    int64_t crs;       /* C[r, c] = C[r crs + c] */
    int nc;            /* columns in this tile, 1..16 */
    int ep;            /* EP_* */
    const float *bias; /* nc floats added to every row, or NULL (EP_SET, EP_RES, EP_GELU) */
    const float *res;  /* EP_RES */
    float *pre;        /* EP_GELU, may be NULL */
} tile_t;

static inline __m256i lane_mask(int n) /* lanes < n set, 0 <= n <= 8 */
{
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

/* R rows, V vectors (V = 2: 9..16 columns, V = 1: 1..8); BM: the last
 * vector of B is partial (masked loads; else B may be read up to the whole
 * vector, e.g. a zero-padded packed panel). */
static inline __attribute__((always_inline)) void tile_kernel(const int R, const int V, const int BM, const tile_t *t)
{
    __m256 acc[MR][2];
    const int last = t->nc - 8 * (V - 1); /* columns in the last vector, 1..8 */
    const __m256i m = lane_mask(last);
#pragma GCC unroll 6
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int v = 0; v < V; v++)
            acc[r][v] = _mm256_setzero_ps();
    const float *a = t->A, *b = t->B;
    const int64_t ars = t->ars, aks = t->aks, bks = t->bks;
    for (int64_t k = 0; k < t->K; k++) {
        __m256 bv[2];
#pragma GCC unroll 2
        for (int v = 0; v < V; v++)
            bv[v] = (BM && v == V - 1) ? _mm256_maskload_ps(b + 8 * v, m) : _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 6
        for (int r = 0; r < R; r++) {
            __m256 av = _mm256_broadcast_ss(a + r * ars);
#pragma GCC unroll 2
            for (int v = 0; v < V; v++)
                acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
        }
        a += aks;
        b += bks;
    }
#pragma GCC unroll 6
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int v = 0; v < V; v++) {
            const int64_t off = r * t->crs + 8 * v;
            float *c = t->C + off;
            const int full = v < V - 1 || last == 8;
            __m256 x = acc[r][v];
            if (t->ep == EP_ACC) {
                x = _mm256_add_ps(x, full ? _mm256_loadu_ps(c) : _mm256_maskload_ps(c, m));
            } else {
                if (t->bias)
                    x = _mm256_add_ps(x,
                                      full ? _mm256_loadu_ps(t->bias + 8 * v) : _mm256_maskload_ps(t->bias + 8 * v, m));
                if (t->ep == EP_RES) {
                    const float *q = t->res + off;
                    x = _mm256_add_ps(full ? _mm256_loadu_ps(q) : _mm256_maskload_ps(q, m), x);
                } else if (t->ep == EP_GELU) {
                    if (t->pre) {
                        if (full)
                            _mm256_storeu_ps(t->pre + off, x);
                        else
                            _mm256_maskstore_ps(t->pre + off, m, x);
                    }
                    x = nn_gelu8(x);
                }
            }
            if (full)
                _mm256_storeu_ps(c, x);
            else
                _mm256_maskstore_ps(c, m, x);
        }
}

/* The kernels for each (rows, vectors), generated and tabulated (by hand: not clang-format). */
/* clang-format off */
#define TK(R, V, BM)                                                                                                \
    static void tk_##R##_##V##_##BM(const tile_t *t) { tile_kernel(R, V, BM, t); }
#define TKR(R) TK(R, 1, 0) TK(R, 2, 0) TK(R, 1, 1) TK(R, 2, 1)
TKR(1) TKR(2) TKR(3) TKR(4) TKR(5) TKR(6)
#undef TKR
#undef TK

typedef void (*tk_fn)(const tile_t *);
static const tk_fn tk_table[MR][2][2] = {
#define TKR(R) {{tk_##R##_1_0, tk_##R##_1_1}, {tk_##R##_2_0, tk_##R##_2_1}}
    TKR(1), TKR(2), TKR(3), TKR(4), TKR(5), TKR(6)
#undef TKR
};
/* clang-format on */

/* One tile of R <= 6 rows and t->nc <= 16 columns. */
static inline void run_tile(int R, int bmask, const tile_t *t) { tk_table[R - 1][t->nc > 8][bmask](t); }

/* Rows handled per parallel work item in the forward and dx passes. */
#define ROWS_PER_ITEM (MR * 16)

/* C (n x ncols, row stride crs) <- A (n x K, row stride ars) B (K x ncols,
 * row stride bks) through epilogue ep (res and pre: row stride crs). */
static void rows_gemm(float *C, int64_t crs, const float *A, int64_t ars, const float *B, int64_t bks, int bmask,
                      int64_t n, int K, int ncols, int ep, const float *bias, const float *res, float *pre)
{
    int64_t items = (n + ROWS_PER_ITEM - 1) / ROWS_PER_ITEM;
#pragma omp parallel for schedule(static) if (n * (K + ncols) > 65536)
    for (int64_t it = 0; it < items; it++) {
        int64_t r0 = it * ROWS_PER_ITEM, r1 = r0 + ROWS_PER_ITEM < n ? r0 + ROWS_PER_ITEM : n;
        for (int64_t r = r0; r < r1; r += MR) {
            int R = r1 - r < MR ? (int)(r1 - r) : MR;
            for (int c0 = 0; c0 < ncols; c0 += NC) {
                tile_t t = {.A = A + r * ars,
                            .ars = ars,
                            .aks = 1,
                            .B = B + c0,
                            .bks = bks,
                            .K = K,
                            .C = C + r * crs + c0,
                            .crs = crs,
                            .nc = ncols - c0 < NC ? ncols - c0 : NC,
                            .ep = ep,
                            .bias = bias ? bias + c0 : NULL,
                            .res = res ? res + r * crs + c0 : NULL,
                            .pre = pre ? pre + r * crs + c0 : NULL};
                run_tile(R, bmask && c0 + NC >= ncols, &t);
            }
        }
    }
}

static void own_forward(float *y, const float *res, float *pre, int ep, const float *x, const float *w, const float *b,
                        int64_t n, int in, int out)
{
    /* W^T packed (in x outp), zero-padded to whole vectors so B loads need no mask. */
    int outp = (out + 7) & ~7;
    float *wt = tf_calloc((size_t)in * outp, sizeof(float), "linear weights");
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++)
            wt[(size_t)i * outp + o] = w[(size_t)o * in + i];
    rows_gemm(y, out, x, in, wt, outp, 0, n, in, out, ep, b, res, pre);
    free(wt);
}

static void own_dx(float *dx, int set, const float *dy, const float *w, int64_t n, int in, int out)
{
    rows_gemm(dx, in, dy, out, w, in, (in & 7) != 0, n, out, in, set ? EP_SET : EP_ACC, NULL, NULL, NULL);
}

/* dW (out x in) += dy^T x and, unless db is NULL, db (out) += column sums
 * of dy. Tokens in chunks that fit in L2; tiles (6 rows of dW x 16
 * columns) are owned by one thread for the whole call. */
static void own_dw(float *dw, float *db, const float *dy, const float *x, int64_t n, int in, int out)
{
    int64_t chunk = (int64_t)nn_linear_chunk / (in + out);
    chunk = chunk < 64 ? 64 : chunk > 1024 ? 1024 : chunk;
    int nrb = (out + MR - 1) / MR, ncb = (in + NC - 1) / NC;
    int ntiles = nrb * ncb;
#pragma omp parallel if (n * (int64_t)(in + out) > 65536)
    for (int64_t t0 = 0; t0 < n; t0 += chunk) {
        int64_t K = n - t0 < chunk ? n - t0 : chunk;
#pragma omp for schedule(static) nowait
        for (int ti = 0; ti < ntiles; ti++) {
            int rb = ti / ncb, cb = ti % ncb;
            int o0 = rb * MR, R = out - o0 < MR ? out - o0 : MR;
            const float *a = dy + t0 * out + o0;
            int i0 = cb * NC;
            tile_t t = {.A = a,
                        .ars = 1,
                        .aks = out,
                        .B = x + t0 * in + i0,
                        .bks = in,
                        .K = K,
                        .C = dw + (int64_t)o0 * in + i0,
                        .crs = in,
                        .nc = in - i0 < NC ? in - i0 : NC,
                        .ep = EP_ACC};
            run_tile(R, i0 + NC >= in && (in & 7), &t);
            if (db && cb == 0) { /* the chunk's column sums of these R columns of dy, in cache now */
                __m256i m = lane_mask(R);
                __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
                int64_t k = 0;
                for (; k + 1 < K; k += 2) {
                    s0 = _mm256_add_ps(s0, _mm256_maskload_ps(a + k * out, m));
                    s1 = _mm256_add_ps(s1, _mm256_maskload_ps(a + (k + 1) * out, m));
                }
                if (k < K)
                    s0 = _mm256_add_ps(s0, _mm256_maskload_ps(a + k * out, m));
                float s[8];
                _mm256_storeu_ps(s, _mm256_add_ps(s0, s1));
                for (int r = 0; r < R; r++)
                    db[o0 + r] += s[r];
            }
        }
    }
}

/* Column sums: acc (c) += sum over rows of m (n x c), per fixed chunk of rows. */
static void own_colsum(float *part, const float *m, int64_t n, int c)
{
    static const float one = 1.0f;
    int64_t nchunk = (n + NN_ROW_CHUNK - 1) / NN_ROW_CHUNK;
#pragma omp parallel for schedule(static) if (nchunk > 1)
    for (int64_t k = 0; k < nchunk; k++) {
        int64_t i0 = k * NN_ROW_CHUNK, i1 = i0 + NN_ROW_CHUNK < n ? i0 + NN_ROW_CHUNK : n;
        for (int c0 = 0; c0 < c; c0 += NC) {
            tile_t t = {.A = &one,
                        .ars = 0,
                        .aks = 0,
                        .B = m + i0 * c + c0,
                        .bks = c,
                        .K = i1 - i0,
                        .C = part + k * c + c0,
                        .crs = 0,
                        .nc = c - c0 < NC ? c - c0 : NC,
                        .ep = EP_SET};
            run_tile(1, c0 + NC >= c && (c & 7), &t);
        }
    }
}

/* Own kernel or OpenBLAS, per product (op 0 forward, 1 dx, 2 dW), by the
 * smaller of in and out: the thresholds are where bench/layers.sh (GFLOP/s
 * per CPU second at many tokens) has the own kernels ahead; the dW pass
 * loses at the fc2 shape (in = 4 out) of C = 32. */
static int use_own(int op, int in, int out)
{
    if (nn_linear_mode)
        return nn_linear_mode == 1;
    int small = in < out ? in : out;
    if (op == 0)
        return small <= 64;
    if (op == 1)
        return small <= 32;
    return small <= 16 || (small <= 32 && in <= 2 * out);
}
#endif

/* ------------------------------------------------------------------ public API */

/* y = [res +] x W^T + b, or GELU of it (pre: the pre-activation), in fp32. */
static void linear_fwd32(float *y, const float *res, float *pre, int gelu, const float *x, const float *w,
                         const float *b, int64_t n, int in, int out)
{
    if (n <= 0 || out <= 0)
        return;
#if HAVE_OWN
    if (in > 0 && use_own(0, in, out)) {
        own_forward(y, res, pre, gelu ? EP_GELU : res ? EP_RES : EP_SET, x, w, b, n, in, out);
        return;
    }
#endif
    float *z = gelu && pre ? pre : y; /* where the affine part goes */
    int big = in > out ? in : out;
    int64_t rb = row_block(big);
    for (int64_t r0 = 0; r0 < n; r0 += rb) {
        int64_t nr = n - r0 < rb ? n - r0 : rb;
        float *yy = z + r0 * out;
        const float *rr = res ? res + r0 * out : NULL;
        float beta = 0.0f;
        if (b || rr) { /* y = res + b, then += x w^T */
#pragma omp parallel for schedule(static) if (nr * out > 65536)
            for (int64_t i = 0; i < nr; i++) {
                float *yi = yy + i * out;
                if (!rr) {
                    memcpy(yi, b, (size_t)out * sizeof(float));
                } else if (!b) {
                    if (rr != yy)
                        memcpy(yi, rr + i * out, (size_t)out * sizeof(float));
                } else {
                    const float *ri = rr + i * out;
#pragma omp simd
                    for (int o = 0; o < out; o++)
                        yi[o] = ri[o] + b[o];
                }
            }
            beta = 1.0f;
        } else if (in == 0) {
            memset(yy, 0, (size_t)(nr * out) * sizeof(float));
        }
        if (in > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, out, in, 1.0f, x + r0 * in, in, w, in, beta,
                        yy, out);
    }
    if (gelu)
        gelu_forward(y, z, n * out);
}

/* x rounded to bf16, as floats (the portable NN_BF16 path); NULL for NULL. */
static float *bf16_copy(const float *x, int64_t n)
{
    if (!x)
        return NULL;
    float *r = tf_malloc((size_t)n * sizeof(float), "bf16 operands");
    nn_bf16_round_array(r, x, n);
    return r;
}

/* The fp32 products, or in NN_BF16 mode the products of the operands rounded
 * to bf16 (nn/precision.h): AVX512_BF16 kernels where the CPU has them,
 * else the fp32 kernels on rounded copies. */
static void linear_fwd(float *y, const float *res, float *pre, int gelu, const float *x, const float *w, const float *b,
                       int64_t n, int in, int out)
{
    if (nn_matmul_precision() != NN_BF16 || n <= 0 || out <= 0 || in <= 0) {
        linear_fwd32(y, res, pre, gelu, x, w, b, n, in, out);
    } else if (nn_bf16_hardware()) {
        if (gelu && pre) /* pre = x W^T + b, y = GELU(pre) */
            nn_bf16_linear_fwd(pre, y, NULL, x, w, b, n, in, out);
        else if (gelu) /* in place: y = x W^T + b, then y = GELU(y) */
            nn_bf16_linear_fwd(y, y, NULL, x, w, b, n, in, out);
        else
            nn_bf16_linear_fwd(y, NULL, res, x, w, b, n, in, out);
    } else {
        float *xr = bf16_copy(x, n * in), *wr = bf16_copy(w, (int64_t)in * out);
        linear_fwd32(y, res, pre, gelu, xr, wr, b, n, in, out);
        free(xr);
        free(wr);
    }
}

void linear_forward(float *y, const float *x, const float *w, const float *b, int64_t n, int in, int out)
{
    linear_fwd(y, NULL, NULL, 0, x, w, b, n, in, out);
}

void linear_forward_res(float *y, const float *res, const float *x, const float *w, const float *b, int64_t n, int in,
                        int out)
{
    linear_fwd(y, res, NULL, 0, x, w, b, n, in, out);
}

void linear_gelu_forward(float *y, float *pre, const float *x, const float *w, const float *b, int64_t n, int in,
                         int out)
{
    linear_fwd(y, NULL, pre, 1, x, w, b, n, in, out);
}

static void linear_bwd32(float *dx, int set, float *dw, float *db, const float *dy, const float *x, const float *w,
                         int64_t n, int in, int out)
{
    if (n <= 0 || out <= 0)
        return;
    if (in == 0)
        dx = dw = NULL;
#if HAVE_OWN
    if (dx && use_own(1, in, out)) {
        own_dx(dx, set, dy, w, n, in, out);
        dx = NULL;
    }
    if (dw && use_own(2, in, out)) {
        own_dw(dw, db, dy, x, n, in, out);
        dw = db = NULL;
    }
#endif
    int big = in > out ? in : out;
    int64_t rb = row_block(big);
    for (int64_t r0 = 0; r0 < n && (dx || dw); r0 += rb) {
        int64_t nr = n - r0 < rb ? n - r0 : rb;
        const float *dyy = dy + r0 * out;
        if (dx) /* dx (nr, in) (+)= dy (nr, out) w (out, in) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nr, in, out, 1.0f, dyy, out, w, in,
                        set ? 0.0f : 1.0f, dx + r0 * in, in);
        if (dw) /* dw (out, in) += dy^T (out, nr) x (nr, in) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, (int)nr, 1.0f, dyy, out, x + r0 * in, in,
                        1.0f, dw, in);
    }
    if (db)
        nn_colsum_acc(db, dy, n, out);
}

static void linear_bwd(float *dx, int set, float *dw, float *db, const float *dy, const float *x, const float *w,
                       int64_t n, int in, int out)
{
    if (nn_matmul_precision() != NN_BF16 || n <= 0 || out <= 0 || in <= 0 || (!dx && !dw)) {
        linear_bwd32(dx, set, dw, db, dy, x, w, n, in, out);
        return;
    }
    if (nn_bf16_hardware()) {
        if (dx)
            nn_bf16_linear_dx(dx, set, dy, w, n, in, out);
        if (dw)
            nn_bf16_linear_dw(dw, dy, x, n, in, out);
    } else {
        float *dyr = bf16_copy(dy, n * out), *xr = bf16_copy(dw ? x : NULL, n * in),
              *wr = bf16_copy(dx ? w : NULL, (int64_t)in * out);
        linear_bwd32(dx, set, dw, NULL, dyr, xr, wr, n, in, out);
        free(dyr);
        free(xr);
        free(wr);
    }
    if (db) /* the bias gradient: fp32 sums of the unrounded dy */
        nn_colsum_acc(db, dy, n, out);
}

void linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int64_t n,
                     int in, int out)
{
    linear_bwd(dx, 0, dw, db, dy, x, w, n, in, out);
}

void linear_backward_set(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int64_t n,
                         int in, int out)
{
    linear_bwd(dx, 1, dw, db, dy, x, w, n, in, out);
}

void nn_colsum_acc(float *acc, const float *m, int64_t n, int c)
{
    if (n <= 0 || c <= 0)
        return;
    int64_t nchunk = (n + NN_ROW_CHUNK - 1) / NN_ROW_CHUNK;
    float *part = tf_malloc((size_t)nchunk * (size_t)c * sizeof(float), "column sums");
#if HAVE_OWN
    own_colsum(part, m, n, c);
#else
#pragma omp parallel for schedule(static) if (nchunk > 1)
    for (int64_t k = 0; k < nchunk; k++) {
        float *p = part + k * c;
        int64_t i0 = k * NN_ROW_CHUNK, i1 = i0 + NN_ROW_CHUNK < n ? i0 + NN_ROW_CHUNK : n;
        for (int j = 0; j < c; j++)
            p[j] = 0.0f;
        for (int64_t i = i0; i < i1; i++) {
            const float *r = m + i * c;
            for (int j = 0; j < c; j++)
                p[j] += r[j];
        }
    }
#endif
    for (int64_t k = 0; k < nchunk; k++) {
        const float *p = part + k * c;
        for (int j = 0; j < c; j++)
            acc[j] += p[j];
    }
    free(part);
}
