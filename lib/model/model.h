/* The TFSWA models: configuration, presets, the contiguous layout of the
 * tensors (names, shapes and order come from the op list of
 * lib/model/net.h, the one description of each network), PyTorch-like
 * initialisation, and FLOP counting (also from the op list).
 * Specification (names, shapes, forward pass): formats/checkpoint.md.
 *
 * Layout: all tensors live in one float array. The trainable parameters
 * come first, [0, n_params), in the fixed order of formats/checkpoint.md,
 * so an optimiser treats them as one vector; the buffers that are not
 * trained (BatchNorm running statistics, the input normalisation) follow,
 * [n_params, n_total). Each op of lib/model/net.h finds its tensors in such
 * an array (weights, or gradients of the same layout) by layout index. */
#ifndef TFSWA_MODEL_MODEL_H
#define TFSWA_MODEL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "nn/layers.h"
#include "nn/tlayer.h"

#define TFSWA_LEVELS 4 /* 3 encoder stages + the bottom */
#define TFSWA_MAX_STEMS 8
#define TFSWA_STEM_NAME 32
#define TFSWA_IN_CH 4 /* re L, im L, re R, im R */
#define TFSWA_MAX_DEPTH 64
#define TFSWA_MAX_DIM 4096
#define TFSWA_BN_EPS 1e-5f
#define TFSWA_MAX_BANDS 256

/* Architectures (the checkpoint's `arch` attribute):
 *   TFSWA_ARCH_UNET  the TFSWA-UNet over full-resolution bins (presets seed, tiny)
 *   TFSWA_ARCH_BAND  band-split: a per-band embedding of the complex bins, a flat
 *                    stack of TFSWA blocks over the (bands x frames) grid and a
 *                    per-band mask head (preset band; lib/model/net.h) */
enum { TFSWA_ARCH_UNET = 0, TFSWA_ARCH_BAND = 1 };

typedef struct {
    char preset[32]; /* "seed", "tiny", "band" or "custom" */
    int arch;        /* TFSWA_ARCH_* */
    /* unet: per stage (encoder 1..3, bottom). band: one value repeated in
     * all four entries: blocks, features D per band, heads. */
    int depths[TFSWA_LEVELS];   /* TFSWA blocks per stage */
    int dims[TFSWA_LEVELS];     /* channels per stage */
    int heads[TFSWA_LEVELS];    /* attention heads per stage */
    int n_bands;                /* band: 0 = tfswa_band_widths' default split, else bands[] */
    int bands[TFSWA_MAX_BANDS]; /* band: widths in bins, low to high, summing to F */
    int mask_hidden;            /* band: hidden features of the per-band mask MLP */
    int features;               /* band: TFSWA_FEAT_* (the checkpoint's `features`) */
    int window;                 /* W-MSA window (F and T), even, >= 2 */
    int mlp_ratio;              /* MLP hidden = mlp_ratio * C */
    int n_fft, hop, rate;       /* the spectrogram the model expects */
    int n_stems;
    char stems[TFSWA_MAX_STEMS][TFSWA_STEM_NAME];
    uint64_t seed; /* initialisation seed */
    int residual;  /* mask kind: 0 unbounded, 1 residual (model/mask.h) */
} tfswa_config;

/* Input features of a band model per bin: the normalised complex bins
 * (4: re, im of both channels), or those and each channel's log magnitude (6). */
enum { TFSWA_FEAT_COMPLEX = 0, TFSWA_FEAT_LOGMAG = 1 };
#define TFSWA_LOGMAG_EPS 1e-3f
/* "complex" / "logmag" and back (-1 for an unknown name). */
const char *tfswa_features_name(int features);
int tfswa_parse_features(const char *name);
static inline int tfswa_band_features(const tfswa_config *c) { return c->features == TFSWA_FEAT_LOGMAG ? 6 : 4; }

/* Fills c with a preset ("seed", "tiny" or "band"; stems vocals,drums,bass,other,
 * n_fft 2048, hop 512, rate 44100, seed 0). Returns 0, or -1 for an unknown name. */
int tfswa_preset(tfswa_config *c, const char *name);
/* Validates c. Returns 0, or -1 with a reason in err. */
int tfswa_config_check(const tfswa_config *c, char *err, size_t errlen);
static inline int tfswa_bins(const tfswa_config *c) { return c->n_fft / 2 + 1; }
/* Band widths of a band model (c->bands, or when n_bands is 0 the default
 * split of the F bins: widths 2, 4, 8, ... doubling every 6 bands, the
 * last band extended to bin F - 1; for F = 1025: 6 x 2, 6 x 4, 6 x 8,
 * 6 x 16, 6 x 32, 6 x 64, 128, 141 = 38 bands). Returns the number of bands. */
int tfswa_band_widths(const tfswa_config *c, int widths[TFSWA_MAX_BANDS]);
/* Parses a comma-separated list of band widths into c->bands, c->n_bands. 0 or -1. */
int tfswa_parse_bands(const char *s, tfswa_config *c);
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
/* Building blocks of a layout: append a tensor (offset assigned by
 * tfswa_layout_finish: parameters first, then buffers, each in order). */
void tfswa_layout_add(tfswa_layout *L, const char *name, int rank, const int64_t *shape, int trainable, int init,
                      int fan_in);
void tfswa_layout_finish(tfswa_layout *L);
void tfswa_layout_free(tfswa_layout *L);
int tfswa_layout_find(const tfswa_layout *L, const char *name); /* index or -1 */

/* The input statistics, bound into a model's array (every other tensor is
 * found by its op through the layout: lib/model/net.h). */
typedef struct {
    float *norm_mean, *norm_std; /* (4, F) input statistics */
} tfswa_weights;

/* The tensors of one transformer layer in checkpoint order (12, or 13 with
 * the window kinds' bias table): name suffix ("norm1.weight", ...), shape,
 * init, fan_in, and the tlayer_params field (byte offset) it binds. */
typedef struct {
    const char *name;
    int rank;
    int64_t shape[2];
    int init, fan_in;
    size_t field;
} tfswa_ttensor;
int tfswa_tlayer_tensors(const tlayer_config *tc, tfswa_ttensor out[13]);

/* Binds W's pointers into base (L->n_total floats of layout L). */
void tfswa_bind(tfswa_weights *W, const tfswa_layout *L, float *base);
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
 * over T frames (all the model's bins), summed over the ops of lib/model/net.h;
 * per_module (may be NULL) receives 6 parts: stem, encoder, bottom,
 * decoder, head, attention-only (included in the others); a band model
 * fills [0] embedding, [2] blocks, [4] mask head, [5] attention. */
double tfswa_flops(const tfswa_config *c, int T, double per_module[6]);
/* One transformer layer over B = 1, F x T tokens; *attn += the attention part. */
double tfswa_tlayer_flops(const tlayer_config *tc, int F, int T, double *attn);

static inline size_t tfswa_max_size(size_t a, size_t b) { return a > b ? a : b; }
/* A square convolution's dims (k x k, stride s, padding p) for B images. */
static inline conv2d_dims tfswa_conv_dims(int B, int Cin, int H, int W, int Cout, int k, int s, int p)
{
    conv2d_dims d = {
        .B = B, .Cin = Cin, .H = H, .W = W, .Cout = Cout, .kh = k, .kw = k, .sh = s, .sw = s, .ph = p, .pw = p};
    return d;
}

/* The normalised features (x - mean[ch][f]) / std[ch][f] of frames
 * [t0, t0 + T) of X (2, F, Ttot) c64 into dst (4, F, Tr), frames past T
 * silent (x = 0) up to Tr >= T. */
void tfswa_features(float *dst, const float *X, int64_t Ttot, int64_t t0, int T, int Tr, const float *mean,
                    const float *std, int F);

#endif
