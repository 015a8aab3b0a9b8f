/* The process-wide settings of lib/nn, in the one file of lib/nn that is
 * compiled once. The other files of lib/nn are compiled once per CPU level
 * (lib/nn/kernels.h) and may hold no global state: a variable there would
 * exist once per level, and a setting made through one level's copy would
 * not reach the others. Declared in lib/nn/layers_impl.h. */
#include <stddef.h>

#include "nn/layers_impl.h"

int nn_linear_mode = 0;
int nn_linear_chunk = 1 << 16;
size_t nn_conv_tile_floats = (size_t)1 << 19;
int nn_tlayer_att_tokens = 0, nn_tlayer_mlp_tokens = 0;
