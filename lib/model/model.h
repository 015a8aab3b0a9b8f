/* The TFSWA-UNet: configuration, presets, the names, shapes and contiguous
 * layout of every tensor, PyTorch-like initialisation, and FLOP counting.
 * Specification (names, shapes, forward pass): formats/checkpoint.md.
 *
 * Layout: all tensors live in one float array. The trainable parameters
 * come first, [0, n_params), in the fixed order of formats/checkpoint.md,
 * so an optimiser treats them as one vector; the buffers that are not
 * trained (BatchNorm running statistics, the input normalisation) follow,
 * [n_params, n_total). tfswa_bind points a tfswa_weights at any such array
 * (weights, or gradients of the same layout). */
#ifndef TFSWA_MODEL_MODEL_H
#define TFSWA_MODEL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "nn/tlayer.h"

#define TFSWA_LEVELS 4     /* 3 encoder stages + the bottom */
#define TFSWA_MAX_STEMS 8
#define TFSWA_STEM_NAME 32
#define TFSWA_IN_CH 4      /* re L, im L, re R, im R */
#define TFSWA_MAX_DEPTH 64
#define TFSWA_MAX_DIM 4096
#define TFSWA_BN_EPS 1e-5f
#define TFSWA_LN_EPS 1e-5f

typedef struct {
    char preset[32];                   /* "seed", "tiny" or "custom" */
    int depths[TFSWA_LEVELS];          /* TFSWA blocks per stage (encoder 1..3, bottom) */
    int dims[TFSWA_LEVELS];            /* channels per stage */
    int heads[TFSWA_LEVELS];           /* attention heads per stage */
    int window;                        /* W-MSA window (F and T), even, >= 2 */
    int mlp_ratio;                     /* MLP hidden = mlp_ratio * C */
    int n_fft, hop, rate;              /* the spectrogram the model expects */
    int n_stems;
    char stems[TFSWA_MAX_STEMS][TFSWA_STEM_NAME];
    uint64_t seed;                     /* initialisation seed */
    int residual;                      /* mask kind: 0 unbounded, 1 residual (model/mask.h) */
} tfswa_config;

/* Fills c with a preset ("seed" or "tiny"; stems vocals,drums,bass,other,
 * n_fft 2048, hop 512, rate 44100, seed 0). Returns 0, or -1 for an unknown name. */
int tfswa_preset(tfswa_config *c, const char *name);
/* Validates c. Returns 0, or -1 with a reason in err. */
int tfswa_config_check(const tfswa_config *c, char *err, size_t errlen);
static inline int tfswa_bins(const tfswa_config *c) { return c->n_fft / 2 + 1; }
/* "2,2,6,2"-style lists: parse into n ints (one value fills all); 0 or -1. */
int tfswa_parse_ints(const char *s, int *out, int n);
void tfswa_format_ints(char *buf, size_t len, const int *v, int n);

/* ---- tensors and layout ---- */
/* KAIMING_SMALL: U(+-0.1/sqrt(fan_in)); MASK_BIAS: (4 S) mask biases, 1/S for
 * the real parts (index % 2 == 0) and 0 for the imaginary ones, S = fan_in. */
enum {
    TFSWA_INIT_ZEROS,
    TFSWA_INIT_ONES,
    TFSWA_INIT_KAIMING,
    TFSWA_INIT_FANIN_BIAS,
    TFSWA_INIT_TRUNC_NORMAL,
    TFSWA_INIT_KAIMING_SMALL,
    TFSWA_INIT_MASK_BIAS
};

typedef struct {
    char name[96];
    int rank;
    int64_t shape[4];
    size_t offset, numel; /* in floats, within the one array */
    int trainable;        /* 1: parameter; 0: buffer (BN running stats, norm.*) */
    int init;             /* TFSWA_INIT_* */
    int fan_in;           /* for KAIMING / FANIN_BIAS; the number of stems for MASK_BIAS */
} tfswa_tensor;

typedef struct {
    int n;
    tfswa_tensor *t;
    size_t n_params; /* trainable floats, at the start */
    size_t n_total;  /* all floats */
} tfswa_layout;

void tfswa_layout_build(tfswa_layout *L, const tfswa_config *c);
void tfswa_layout_free(tfswa_layout *L);
int  tfswa_layout_find(const tfswa_layout *L, const char *name); /* index or -1 */

/* conv (+ bias) followed by BatchNorm2d */
typedef struct {
    float *w, *b;                      /* conv weight, bias */
    float *bn_g, *bn_b, *bn_mean, *bn_var;
} tfswa_convbn;

typedef struct {
    float *norm_mean, *norm_std;       /* (4, F) input statistics */
    tfswa_convbn stem;                 /* 7x7, 4 -> c1 */
    tfswa_convbn down[3];              /* 4x4 s2, c_i -> c_{i+1} */
    tfswa_convbn up[3];                /* transposed 4x4 s2, c_{i+1} -> c_i */
    tfswa_convbn head;                 /* 3x3, c1 -> c1 */
    float *out_w, *out_b;              /* 1x1, c1 -> 4 * stems */
    /* transformer layers: 4 per block (TIME, FREQ, WINDOW, SHIFTED) */
    tlayer_params *enc[3], *mid, *dec[3];
    int n_enc[3], n_mid, n_dec[3];     /* layers (4 * depth) */
} tfswa_weights;

/* Binds every pointer of W into base (n_total floats, layout of c). */
void tfswa_bind(tfswa_weights *W, const tfswa_config *c, float *base);
void tfswa_weights_free(tfswa_weights *W);
/* The configuration of transformer layer j (0..3 within a block) at stage s. */
tlayer_config tfswa_tlayer_config(const tfswa_config *c, int stage, int j);

typedef struct {
    tfswa_config cfg;
    tfswa_layout layout;
    float *data; /* layout.n_total floats */
    tfswa_weights w;
} tfswa_model;

/* Allocates and binds a model of configuration c (weights zero). */
void tfswa_model_alloc(tfswa_model *m, const tfswa_config *c);
/* Initialises weights as PyTorch would, from c->seed: conv/linear weights
 * kaiming-uniform (a = sqrt 5: U(-1/sqrt fan_in, 1/sqrt fan_in)), biases
 * U(-1/sqrt fan_in, +), LN/BN weight 1 bias 0, BN running mean 0 var 1,
 * relative position bias tables N(0, 0.02) truncated to [-0.04, 0.04],
 * norm.mean 0, norm.std 1. Tensors are drawn in layout order. */
void tfswa_model_init_weights(tfswa_model *m);
void tfswa_model_free(tfswa_model *m);

/* ---- shapes and cost ---- */
/* Sizes at each level for an input of F bins and T frames:
 * f[0] = F, f[i+1] = f[i] / 2 (floor), likewise t. Needs T >= 8. */
void tfswa_level_sizes(int F, int T, int f[TFSWA_LEVELS], int t[TFSWA_LEVELS]);
#define TFSWA_MIN_FRAMES 8

/* Floating-point operations (a multiply-add counts 2) of one forward pass
 * over F x T; per_module (may be NULL) receives 6 parts: stem, encoder,
 * bottom, decoder, head, attention-only (included in the others). */
double tfswa_flops(const tfswa_config *c, int F, int T, double per_module[6]);

#endif
