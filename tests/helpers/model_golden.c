/* model_golden OUTDIR: writes the fixtures of the whole-model golden test:
 * OUTDIR/golden.ckpt, a small TFSWA-UNet (n_fft 64: 33 bins; dims 8,8,16,16;
 * heads 2; window 4; mlp_ratio 2; depths 1,1,1,1; stems vocals,other) whose
 * every tensor is random (BatchNorm statistics, LayerNorm affine, relative
 * position biases and the input normalisation included, so each is
 * exercised), and OUTDIR/golden_in.ts, two records with a random `mixture`
 * c64 (2, 33, T) for T = 21 and T = 5 (shorter than the 8-frame minimum).
 * examples/python/tfswa_torch.py then computes golden_out.ts from these
 * (see tests/data/model/README). Deterministic: a fixed seed.
 *
 * model_golden OUTDIR band: the same for a small band model
 * (tests/data/model-band: n_fft 64, the default split of its 33 bins into
 * 11 bands, D 8, heads 2, 2 blocks, window 4, mask_hidden 12), with the
 * mask head's output weights drawn at full scale instead of 1/10.
 * model_golden OUTDIR band-logmag: that band model with features logmag
 * (tests/data/model-band-logmag). */
#include <stdio.h>
#include <string.h>

#include "model/checkpoint.h"
#include "model/model.h"
#include "stream/ts.h"
#include "util/atomic.h"
#include "util/cli.h"
#include "util/rng.h"

static int ends(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    const int logmag = argc == 3 && strcmp(argv[2], "band-logmag") == 0;
    const int band = logmag || (argc == 3 && strcmp(argv[2], "band") == 0);
    if (argc != 2 && !band)
        tf_usage_error("usage: model_golden OUTDIR [band|band-logmag]");
    tfswa_config c;
    tfswa_preset(&c, band ? "band" : "tiny");
    snprintf(c.preset, sizeof c.preset, "custom");
    int dims[4] = {8, 8, 16, 16}, depths[4] = {1, 1, 1, 1};
    if (band)
        for (int i = 0; i < 4; i++)
            dims[i] = 8, depths[i] = 2;
    memcpy(c.dims, dims, sizeof dims);
    memcpy(c.depths, depths, sizeof depths);
    for (int i = 0; i < 4; i++)
        c.heads[i] = 2;
    if (band)
        c.mask_hidden = 12;
    if (logmag)
        c.features = TFSWA_FEAT_LOGMAG;
    c.window = 4;
    c.mlp_ratio = 2;
    c.n_fft = 64;
    c.hop = 16;
    c.n_stems = 2;
    snprintf(c.stems[0], TFSWA_STEM_NAME, "vocals");
    snprintf(c.stems[1], TFSWA_STEM_NAME, "other");
    c.seed = 7;
    tfswa_model m;
    tfswa_model_alloc(&m, &c);
    tfswa_model_init_weights(&m);
    tf_rng rng;
    tf_rng_seed(&rng, 1234);
    for (int i = 0; i < m.layout.n; i++) {
        const tfswa_tensor *t = &m.layout.t[i];
        float *p = m.data + t->offset;
        for (size_t k = 0; k < t->numel; k++) {
            if (ends(t->name, "norm1.weight") || ends(t->name, "norm2.weight") || ends(t->name, "bn.weight") ||
                ends(t->name, "norm.weight") || ends(t->name, "norm_out.weight"))
                p[k] = (float)tf_rng_range(&rng, 0.5, 1.5);
            else if (ends(t->name, "norm1.bias") || ends(t->name, "norm2.bias") || ends(t->name, "bn.bias") ||
                     ends(t->name, "bn.running_mean") || ends(t->name, "norm.bias") || ends(t->name, "norm_out.bias"))
                p[k] = (float)tf_rng_range(&rng, -0.5, 0.5);
            else if (ends(t->name, "bn.running_var"))
                p[k] = (float)tf_rng_range(&rng, 0.5, 2.0);
            else if (ends(t->name, "relative_position_bias_table"))
                p[k] = (float)(0.5 * tf_rng_normal(&rng));
            else if (strcmp(t->name, "norm.mean") == 0)
                p[k] = (float)tf_rng_range(&rng, -1, 1);
            else if (strcmp(t->name, "norm.std") == 0)
                p[k] = (float)tf_rng_range(&rng, 0.5, 2);
            else if (t->init == TFSWA_INIT_KAIMING_SMALL)
                p[k] *= 10;
        }
    }
    char path[4096], err[1024];
    snprintf(path, sizeof path, "%s/golden.ckpt", argv[1]);
    if (tfswa_ckpt_save(path, &m, NULL, err, sizeof err) < 0)
        tf_die("%s", err);
    snprintf(path, sizeof path, "%s/golden_in.ts", argv[1]);
    tf_atomic a;
    FILE *f = tf_atomic_open(&a, path);
    if (!f)
        tf_die("%s: cannot create", path);
    ts_writer *w = ts_writer_open(f, path);
    const int Ts[2] = {21, 5};
    for (int r = 0; r < 2; r++) {
        ts_record rec;
        ts_record_init(&rec);
        ts_attr_setf(&rec, "track", "golden%d", r);
        ts_attr_set(&rec, "n_fft", "64");
        ts_attr_set(&rec, "hop", "16");
        int64_t shape[3] = {2, 33, Ts[r]};
        ts_tensor *t = ts_tensor_add(&rec, "mixture", TS_C64, 3, shape);
        float *x = t->data;
        for (int64_t k = 0; k < 2 * 2 * 33 * (int64_t)Ts[r]; k++)
            x[k] = (float)tf_rng_normal(&rng);
        ts_write_or_die(w, &rec);
        ts_record_free(&rec);
    }
    ts_writer_close_or_die(w);
    if (tf_atomic_commit(&a) < 0)
        tf_die("%s: cannot write", path);
    tfswa_model_free(&m);
    return 0;
}
