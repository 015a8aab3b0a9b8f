/* Internal helpers shared by the layer implementations (not a public API). */
#ifndef TFSWA_NN_LAYERS_IMPL_H
#define TFSWA_NN_LAYERS_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* Row chunk used for deterministic reductions over rows: partial sums are
 * formed per fixed chunk of rows (independent of the thread count) and then
 * added in chunk order, so results do not depend on the number of threads. */
#define NN_ROW_CHUNK 1024

/* acc[j] += sum_i m[i * c + j] over n rows; deterministic. */
void nn_colsum_acc(float *acc, const float *m, int64_t n, int c);

/* Column-buffer budget of one convolution tile in floats (default 2^19 =
 * 2 MiB). Only tests and the benchmark change it. */
extern size_t nn_conv_tile_floats;

#endif
