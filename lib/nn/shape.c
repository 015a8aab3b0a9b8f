/* Layout changes (NCHW <-> tokens), bottom/right zero padding and cropping,
 * residual addition. Transposes are blocked for cache locality and
 * parallel over (batch, block of positions), so every output element is
 * written by exactly one thread. */
#include "nn/layers.h"

#include <string.h>

#define TBLK 32

/* out (P, C) [+]= transpose of in (C, P), for one batch item. */
static void transpose_cp(float *out, const float *in, int C, int64_t P, int64_t p0, int64_t p1, int acc)
{
    for (int c0 = 0; c0 < C; c0 += TBLK) {
        int c1 = c0 + TBLK < C ? c0 + TBLK : C;
        for (int64_t p = p0; p < p1; p++) {
            float *o = out + p * C;
            if (acc)
                for (int c = c0; c < c1; c++)
                    o[c] += in[(int64_t)c * P + p];
            else
                for (int c = c0; c < c1; c++)
                    o[c] = in[(int64_t)c * P + p];
        }
    }
}

/* out (C, P) [+]= transpose of in (P, C), for positions p0..p1 of one batch item. */
static void transpose_pc(float *out, const float *in, int C, int64_t P, int64_t p0, int64_t p1, int acc)
{
    for (int c = 0; c < C; c++) {
        float *o = out + (int64_t)c * P;
        if (acc)
            for (int64_t p = p0; p < p1; p++)
                o[p] += in[p * C + c];
        else
            for (int64_t p = p0; p < p1; p++)
                o[p] = in[p * C + c];
    }
}

static void nchw_tok(float *y, const float *x, int B, int C, int H, int W, int acc)
{
    int64_t P = (int64_t)H * W, nblk = (P + TBLK - 1) / TBLK;
#pragma omp parallel for collapse(2) schedule(static) if ((int64_t)B * C * P > 65536)
    for (int b = 0; b < B; b++)
        for (int64_t k = 0; k < nblk; k++) {
            int64_t p0 = k * TBLK, p1 = p0 + TBLK < P ? p0 + TBLK : P;
            transpose_cp(y + (int64_t)b * P * C, x + (int64_t)b * C * P, C, P, p0, p1, acc);
        }
}

static void tok_nchw(float *y, const float *x, int B, int C, int H, int W, int acc)
{
    int64_t P = (int64_t)H * W, nblk = (P + TBLK - 1) / TBLK;
#pragma omp parallel for collapse(2) schedule(static) if ((int64_t)B * C * P > 65536)
    for (int b = 0; b < B; b++)
        for (int64_t k = 0; k < nblk; k++) {
            int64_t p0 = k * TBLK, p1 = p0 + TBLK < P ? p0 + TBLK : P;
            transpose_pc(y + (int64_t)b * C * P, x + (int64_t)b * P * C, C, P, p0, p1, acc);
        }
}

void nchw_to_tokens(float *y, const float *x, int B, int C, int H, int W) { nchw_tok(y, x, B, C, H, W, 0); }
void tokens_to_nchw(float *y, const float *x, int B, int C, int H, int W) { tok_nchw(y, x, B, C, H, W, 0); }
void nchw_to_tokens_backward(float *dx, const float *dy, int B, int C, int H, int W)
{
    tok_nchw(dx, dy, B, C, H, W, 1);
}
void tokens_to_nchw_backward(float *dx, const float *dy, int B, int C, int H, int W)
{
    nchw_tok(dx, dy, B, C, H, W, 1);
}

void pad2d_forward(float *y, const float *x, int B, int C, int H, int W, int H2, int W2)
{
#pragma omp parallel for schedule(static) if ((int64_t)B * C * H2 * W2 > 65536)
    for (int64_t bc = 0; bc < (int64_t)B * C; bc++) {
        const float *xp = x + bc * H * W;
        float *yp = y + bc * H2 * W2;
        for (int h = 0; h < H; h++) {
            memcpy(yp + (int64_t)h * W2, xp + (int64_t)h * W, (size_t)W * sizeof(float));
            if (W2 > W)
                memset(yp + (int64_t)h * W2 + W, 0, (size_t)(W2 - W) * sizeof(float));
        }
        if (H2 > H)
            memset(yp + (int64_t)H * W2, 0, (size_t)(H2 - H) * (size_t)W2 * sizeof(float));
    }
}

/* For each of n planes: the top-left (rows, cols) of dx (planes of H x W)
 * += the top-left (rows, cols) of dy (planes of H2 x W2): the backward pass
 * of both padding and cropping at the bottom and right. */
static void add_top_left(float *dx, const float *dy, int64_t n, int H, int W, int H2, int W2, int rows, int cols)
{
#pragma omp parallel for schedule(static) if (n * rows * cols > 65536)
    for (int64_t bc = 0; bc < n; bc++) {
        float *xp = dx + bc * H * W;
        const float *yp = dy + bc * H2 * W2;
        for (int h = 0; h < rows; h++)
            for (int w = 0; w < cols; w++)
                xp[(int64_t)h * W + w] += yp[(int64_t)h * W2 + w];
    }
}

/* dx (H, W) += top-left of dy (H2, W2). */
void pad2d_backward(float *dx, const float *dy, int B, int C, int H, int W, int H2, int W2)
{
    add_top_left(dx, dy, (int64_t)B * C, H, W, H2, W2, H, W);
}

void crop2d_forward(float *y, const float *x, int B, int C, int H, int W, int H2, int W2)
{
#pragma omp parallel for schedule(static) if ((int64_t)B * C * H2 * W2 > 65536)
    for (int64_t bc = 0; bc < (int64_t)B * C; bc++) {
        const float *xp = x + bc * H * W;
        float *yp = y + bc * H2 * W2;
        for (int h = 0; h < H2; h++)
            memcpy(yp + (int64_t)h * W2, xp + (int64_t)h * W, (size_t)W2 * sizeof(float));
    }
}

/* dx (H, W) += dy (H2, W2) placed at the top-left; the rest of dx unchanged. */
void crop2d_backward(float *dx, const float *dy, int B, int C, int H, int W, int H2, int W2)
{
    add_top_left(dx, dy, (int64_t)B * C, H, W, H2, W2, H2, W2);
}

void add_inplace(float *y, const float *x, int64_t n)
{
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++)
        y[i] += x[i];
}
