/* Linear layer through OpenBLAS sgemm. */
#include "nn/layers.h"
#include "nn/layers_impl.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "util/cli.h"

/* BLAS takes int dimensions: split the rows so every call stays far below
 * INT_MAX elements in each operand. */
static int64_t row_block(int cols)
{
    int64_t lim = ((int64_t)1 << 30) / (cols > 0 ? cols : 1);
    return lim > 0 ? lim : 1;
}

void linear_forward(float *y, const float *x, const float *w, const float *b, int64_t n, int in, int out)
{
    if (n <= 0 || out <= 0)
        return;
    int big = in > out ? in : out;
    int64_t rb = row_block(big);
    for (int64_t r0 = 0; r0 < n; r0 += rb) {
        int64_t nr = n - r0 < rb ? n - r0 : rb;
        float *yy = y + r0 * out;
        float beta = 0.0f;
        if (b) {
#pragma omp parallel for schedule(static) if (nr * out > 65536)
            for (int64_t i = 0; i < nr; i++)
                memcpy(yy + i * out, b, (size_t)out * sizeof(float));
            beta = 1.0f;
        }
        if (in == 0) {
            if (!b)
                memset(yy, 0, (size_t)(nr * out) * sizeof(float));
            continue;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, out, in, 1.0f, x + r0 * in, in, w, in,
                    beta, yy, out);
    }
}

void linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                     int64_t n, int in, int out)
{
    if (n <= 0 || out <= 0)
        return;
    int big = in > out ? in : out;
    int64_t rb = row_block(big);
    for (int64_t r0 = 0; r0 < n; r0 += rb) {
        int64_t nr = n - r0 < rb ? n - r0 : rb;
        const float *dyy = dy + r0 * out;
        if (dx && in > 0) /* dx (nr, in) += dy (nr, out) w (out, in) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nr, in, out, 1.0f, dyy, out, w, in,
                        1.0f, dx + r0 * in, in);
        if (dw && in > 0) /* dw (out, in) += dy^T (out, nr) x (nr, in) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, (int)nr, 1.0f, dyy, out, x + r0 * in,
                        in, 1.0f, dw, in);
    }
    if (db)
        nn_colsum_acc(db, dy, n, out);
}

void nn_colsum_acc(float *acc, const float *m, int64_t n, int c)
{
    if (n <= 0 || c <= 0)
        return;
    int64_t nchunk = (n + NN_ROW_CHUNK - 1) / NN_ROW_CHUNK;
    float *part = tf_malloc((size_t)nchunk * (size_t)c * sizeof(float), "column sums");
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
    for (int64_t k = 0; k < nchunk; k++) {
        const float *p = part + k * c;
        for (int j = 0; j < c; j++)
            acc[j] += p[j];
    }
    free(part);
}
