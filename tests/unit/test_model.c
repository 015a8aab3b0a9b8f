/* The TFSWA-UNet: layout and naming, PyTorch-like initialisation, the whole
 * forward pass against a golden output of an independent PyTorch
 * implementation written from formats/checkpoint.md
 * (examples/python/tfswa_torch.py, tests/data/model/README), folded BN
 * equal to unfolded, and chunked separation against separate forwards. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/checkpoint.h"
#include "model/forward.h"
#include "model/mask.h"
#include "model/model.h"
#include "model/net.h"
#include "model/separate.h"
#include "nn/tlayer.h"
#include "stream/ts.h"
#include "util/cli.h"
#include "util/rng.h"

static const char *DATA_DIR = "model"; /* tests/data/<DATA_DIR>: model (U-Net) or model-band */

static const char *data_path(const char *name)
{
    static char buf[4096];
    const char *top = getenv("TOP");
    snprintf(buf, sizeof buf, "%s/tests/data/%s/%s", top && *top ? top : ".", DATA_DIR, name);
    return buf;
}

static int read_all(const char *path, ts_record *recs, int max)
{
    char *paths[1] = {(char *)path};
    ts_reader *r = ts_reader_open(1, paths);
    int n = 0;
    while (n < max) {
        ts_record_init(&recs[n]);
        int rc = ts_read(r, &recs[n]);
        CHECK(rc >= 0, "%s", rc < 0 ? ts_reader_error(r) : "");
        if (rc <= 0)
            break;
        n++;
    }
    ts_reader_close(r);
    return n;
}

static void test_layout(void)
{
    tfswa_config c;
    CHECK(tfswa_preset(&c, "tiny") == 0, "tiny preset");
    CHECK(tfswa_preset(&c, "nope") == -1, "unknown preset");
    tfswa_preset(&c, "seed");
    CHECK(c.depths[2] == 6 && c.dims[3] == 256 && c.heads[0] == 8 && c.window == 8 && c.mlp_ratio == 4 &&
              c.n_fft == 2048 && c.hop == 512 && c.n_stems == 4,
          "seed preset");
    tfswa_layout L;
    tfswa_layout_build(&L, &c);
    /* independent count: conv + BN per conv unit, tlayer_num_params per layer */
    size_t want = 0, buffers = 0;
    const int *d = c.dims;
    want += (size_t)d[0] * 4 * 49 + d[0] + 2 * d[0];
    buffers += 2 * (size_t)d[0];
    for (int i = 0; i < 3; i++) {
        want += 2 * ((size_t)d[i] * d[i + 1] * 16) + d[i + 1] + d[i] + 2 * (size_t)(d[i] + d[i + 1]);
        buffers += 2 * (size_t)(d[i] + d[i + 1]);
    }
    for (int s = 0; s < 4; s++)
        for (int j = 0; j < 4; j++) {
            tlayer_config tc = tfswa_tlayer_config(&c, s, j);
            want += (size_t)(s < 3 ? 2 : 1) * c.depths[s] * tlayer_num_params(&tc);
        }
    want += (size_t)d[0] * d[0] * 9 + 3 * (size_t)d[0] + (size_t)16 * d[0] + 16;
    buffers += 2 * (size_t)d[0] + 2 * 4 * 1025;
    CHECK(L.n_params == want, "seed parameters %zu, independent count %zu", L.n_params, want);
    CHECK(L.n_total - L.n_params == buffers, "seed buffers %zu, want %zu", L.n_total - L.n_params, buffers);
    /* contiguous: parameters first, no gaps, no overlaps, unique names */
    size_t pos = 0;
    for (int pass = 1; pass >= 0; pass--)
        for (int i = 0; i < L.n; i++)
            if (L.t[i].trainable == pass) {
                CHECK(L.t[i].offset == pos, "%s at %zu, want %zu", L.t[i].name, L.t[i].offset, pos);
                pos += L.t[i].numel;
            }
    CHECK(pos == L.n_total, "total");
    for (int i = 0; i < L.n; i++)
        CHECK(tfswa_layout_find(&L, L.t[i].name) == i, "name %s not unique", L.t[i].name);
    static const char *const names[] = {"stem.conv.weight",
                                        "enc.0.blocks.1.fsa.attn.qkv.weight",
                                        "enc.2.blocks.5.swmsa.attn.relative_position_bias_table",
                                        "enc.2.down.bn.running_var",
                                        "mid.blocks.1.tsa.mlp.fc2.bias",
                                        "dec.2.up.conv.weight",
                                        "dec.0.blocks.1.wmsa.norm2.weight",
                                        "head.out.weight",
                                        "norm.std"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK(tfswa_layout_find(&L, names[i]) >= 0, "no tensor %s", names[i]);
    int k = tfswa_layout_find(&L, "dec.2.up.conv.weight");
    CHECK(L.t[k].shape[0] == 256 && L.t[k].shape[1] == 128 && L.t[k].fan_in == 128 * 16, "convT layout");
    k = tfswa_layout_find(&L, "enc.2.blocks.5.swmsa.attn.relative_position_bias_table");
    CHECK(L.t[k].shape[0] == 225 && L.t[k].shape[1] == 8, "rel bias shape");
    CHECK(tfswa_layout_find(&L, "enc.0.blocks.0.tsa.attn.relative_position_bias_table") < 0, "TSA has no rel bias");
    tfswa_layout_free(&L);
}

/* FLOPs against a count from the tensor layout: 2 x weight elements x output
 * positions for every conv and linear weight, plus 4 L C per token for
 * attention over L keys (QK^T and AV), padded windows included. */
static void test_flops(void)
{
    tfswa_config c;
    tfswa_preset(&c, "seed");
    const int F = 1025, T = 259;
    int f[4], t[4];
    tfswa_level_sizes(F, T, f, t);
    CHECK(f[1] == 512 && f[3] == 128 && t[1] == 129 && t[3] == 32, "level sizes");
    tfswa_layout L;
    tfswa_layout_build(&L, &c);
    double want = 0;
    for (int i = 0; i < L.n; i++) {
        const tfswa_tensor *x = &L.t[i];
        const char *n = x->name;
        size_t ln = strlen(n);
        if (ln < 7 || strcmp(n + ln - 7, ".weight") != 0 || x->rank < 2)
            continue;
        int lv = 0; /* level of the outputs */
        if (strncmp(n, "enc.", 4) == 0 || strncmp(n, "dec.", 4) == 0)
            lv = n[4] - '0';
        else if (strncmp(n, "mid.", 4) == 0)
            lv = 3;
        if (strstr(n, ".down.")) /* the stride-2 conv writes the next level */
            lv++;
        if (strstr(n, ".up.")) /* the transposed conv: 2 x per input position */
            want += 2.0 * x->numel * f[lv + 1] * t[lv + 1];
        else
            want += 2.0 * x->numel * f[lv] * t[lv];
    }
    for (int s = 0; s < 4; s++) {
        double n = (double)f[s] * t[s], C = c.dims[s], w = c.window;
        double Fp = ceil(f[s] / w) * w, Tp = ceil(t[s] / w) * w;
        double per_block = 4 * n * t[s] * C + 4 * n * f[s] * C + 2 * 4 * Fp * Tp * w * w * C;
        want += (s < 3 ? 2 : 1) * c.depths[s] * per_block;
    }
    double pm[6];
    double got = tfswa_flops(&c, T, pm);
    CHECK(fabs(got - want) <= 1e-9 * want, "FLOPs %.6g, from the layout %.6g", got, want);
    CHECK(fabs(pm[0] + pm[1] + pm[2] + pm[3] + pm[4] - got) <= 1e-9 * got && pm[5] > 0.2 * got && pm[5] < got,
          "FLOP parts");
    tfswa_layout_free(&L);
}

static void test_init(void)
{
    tfswa_config c;
    tfswa_preset(&c, "tiny");
    c.seed = 5;
    tfswa_model a, b;
    tfswa_model_alloc(&a, &c);
    tfswa_model_init_weights(&a);
    tfswa_model_alloc(&b, &c);
    tfswa_model_init_weights(&b);
    CHECK(memcmp(a.data, b.data, a.layout.n_total * sizeof(float)) == 0, "same seed, same weights");
    b.cfg.seed = 6;
    tfswa_model_init_weights(&b);
    CHECK(memcmp(a.data, b.data, a.layout.n_params * sizeof(float)) != 0, "another seed, other weights");
    for (int i = 0; i < a.layout.n; i++) {
        const tfswa_tensor *t = &a.layout.t[i];
        const float *p = a.data + t->offset;
        double s1 = 0, s2 = 0, mx = 0;
        for (size_t j = 0; j < t->numel; j++) {
            s1 += p[j];
            s2 += (double)p[j] * p[j];
            if (fabs(p[j]) > mx)
                mx = fabs(p[j]);
        }
        double mean = s1 / t->numel, var = s2 / t->numel - mean * mean;
        if (t->init == TFSWA_INIT_ONES)
            CHECK(mean == 1 && var == 0, "%s not ones", t->name);
        else if (t->init == TFSWA_INIT_ZEROS)
            CHECK(mx == 0, "%s not zeros", t->name);
        else if (t->init == TFSWA_INIT_KAIMING || t->init == TFSWA_INIT_FANIN_BIAS) {
            double bound = 1 / sqrt((double)t->fan_in);
            CHECK(mx <= bound, "%s: %g beyond the bound %g", t->name, mx, bound);
            if (t->numel >= 4096) /* U(-b, b): variance b^2 / 3 */
                CHECK(fabs(var / (bound * bound / 3) - 1) < 0.1 && fabs(mean) < 0.05 * bound, "%s: var %g", t->name,
                      var);
        } else if (t->init == TFSWA_INIT_TRUNC_NORMAL) {
            CHECK(mx <= 0.04 && mx > 0, "%s: max %g", t->name, mx);
        }
    }
    tfswa_model_free(&a);
    tfswa_model_free(&b);
}

/* max |a - b| <= tol * max |b| elementwise-ish */
static void compare(const float *a, const float *b, size_t n, double tol, const char *what)
{
    double mx = 0, err = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(b[i]) > mx)
            mx = fabs(b[i]);
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= err)) {
            err = e;
            at = i;
        }
    }
    CHECK(err <= tol * mx + 1e-30 && mx > 0, "%s: max error %g at %zu (%g vs %g), scale %g", what, err, at,
          (double)a[at], (double)b[at], mx);
}

/* The band preset: its documented split, tensor names and shapes, a
 * parameter count and a FLOP count made here from the widths alone. */
static void test_band_layout(void)
{
    tfswa_config c;
    CHECK(tfswa_preset(&c, "band") == 0 && c.arch == TFSWA_ARCH_BAND, "band preset");
    char err[256];
    CHECK(tfswa_config_check(&c, err, sizeof err) == 0, "band preset: %s", err);
    int w[TFSWA_MAX_BANDS], K = tfswa_band_widths(&c, w), sum = 0;
    static const int want_w[8] = {2, 4, 8, 16, 32, 64, 128, 141};
    CHECK(K == 38, "band preset: %d bands", K);
    for (int k = 0; k < K; k++) {
        CHECK(w[k] == want_w[k < 36 ? k / 6 : k - 30], "band %d width %d", k, w[k]);
        sum += w[k];
    }
    CHECK(sum == 1025, "band widths sum to %d", sum);
    tfswa_layout L;
    tfswa_layout_build(&L, &c);
    const size_t D = (size_t)c.dims[0], Hm = (size_t)c.mask_hidden, S4 = 4 * (size_t)c.n_stems;
    size_t want = 0;
    for (int k = 0; k < K; k++)
        want += 2 * 4 * (size_t)w[k] + 4 * (size_t)w[k] * D + D + D * Hm + Hm + Hm * S4 * w[k] + S4 * w[k];
    for (int j = 0; j < 4; j++) {
        tlayer_config tc = tfswa_tlayer_config(&c, 0, j);
        want += (size_t)c.depths[0] * tlayer_num_params(&tc);
    }
    want += 2 * D;
    CHECK(L.n_params == want, "band parameters %zu, independent count %zu", L.n_params, want);
    CHECK(L.n_total - L.n_params == 8 * 1025, "band buffers %zu", L.n_total - L.n_params);
    int i = tfswa_layout_find(&L, "band.0.fc.weight");
    CHECK(i >= 0 && L.t[i].rank == 2 && L.t[i].shape[0] == (int64_t)D && L.t[i].shape[1] == 8, "band.0.fc.weight");
    i = tfswa_layout_find(&L, "mask.37.fc2.bias");
    CHECK(i >= 0 && L.t[i].shape[0] == (int64_t)S4 * 141 && L.t[i].init == TFSWA_INIT_MASK_BIAS, "mask.37.fc2.bias");
    CHECK(tfswa_layout_find(&L, "blocks.1.swmsa.attn.relative_position_bias_table") >= 0 &&
              tfswa_layout_find(&L, "blocks.2.tsa.norm1.weight") < 0 && tfswa_layout_find(&L, "norm_out.bias") >= 0,
          "band block names");
    /* FLOPs: every weight matrix once per token of its grid, plus attention */
    const int T = 517; /* 6 s */
    double want_fl = 0, Kp = ceil(K / 8.0) * 8, Tp = ceil(T / 8.0) * 8;
    for (int k = 0; k < L.n; k++) {
        const tfswa_tensor *x = &L.t[k];
        if (x->rank < 2 || strstr(x->name, "relative_position") || strncmp(x->name, "norm.", 5) == 0)
            continue;
        want_fl += 2.0 * x->numel * T * (strncmp(x->name, "blocks.", 7) == 0 ? K : 1);
    }
    want_fl += c.depths[0] * (4.0 * K * T * T * D + 4.0 * K * T * K * D + 2 * 4 * Kp * Tp * 64 * D);
    double pm[6], got = tfswa_flops(&c, T, pm);
    CHECK(fabs(got - want_fl) <= 1e-9 * want_fl, "band FLOPs %.6g, independent %.6g", got, want_fl);
    CHECK(fabs(pm[0] + pm[2] + pm[4] - got) <= 1e-9 * got && pm[1] == 0 && pm[3] == 0, "band FLOP parts");
    double per_sec = got / (T * 512.0 / 44100);
    CHECK(per_sec < 2e9, "band preset: %.3g FLOP per second of audio (budget 2 G)", per_sec);
    tfswa_layout_free(&L);
    /* configuration errors */
    c.n_bands = 2;
    c.bands[0] = 1000, c.bands[1] = 24;
    CHECK(tfswa_config_check(&c, err, sizeof err) < 0 && strstr(err, "1024"), "bands not summing to F: %s", err);
    tfswa_preset(&c, "band");
    c.dims[2] = 8;
    CHECK(tfswa_config_check(&c, err, sizeof err) < 0, "band with per-stage dims accepted");
}

static void test_golden(tfswa_model *m)
{
    ts_record in[3], out[3];
    int n = read_all(data_path("golden_in.ts"), in, 3);
    int n2 = read_all(data_path("golden_out.ts"), out, 3);
    CHECK(n == 2 && n2 == 2, "golden records %d %d", n, n2);
    for (int fold = 0; fold < 2; fold++) {
        tfswa_runner *r = tfswa_runner_new(m, 32, fold);
        for (int i = 0; i < n && i < n2; i++) {
            const ts_tensor *x = ts_tensor_get(&in[i], "mixture");
            int T = (int)x->shape[2], F = (int)x->shape[1];
            const float *M = tfswa_forward(r, x->data, T, 0, T);
            float *est = malloc(sizeof(float) * 4 * F * T);
            for (int s = 0; s < m->cfg.n_stems; s++) {
                char name[64], what[128];
                snprintf(name, sizeof name, "est/%s", m->cfg.stems[s]);
                const ts_tensor *g = ts_tensor_get(&out[i], name);
                CHECK(g && g->shape[2] == T, "golden %s", name);
                if (!g)
                    continue;
                tfswa_estimate(est, M, &m->cfg, s, x->data, F, T, 0, T);
                snprintf(what, sizeof what, "golden record %d %s (%s BN)", i, name, fold ? "folded" : "unfolded");
                compare(est, g->data, (size_t)4 * F * T, 1e-4, what);
            }
            free(est);
        }
        tfswa_runner_free(r);
    }
    for (int i = 0; i < n; i++)
        ts_record_free(&in[i]);
    for (int i = 0; i < n2; i++)
        ts_record_free(&out[i]);
}

static void test_fold(tfswa_model *m, const float *X, int T)
{
    tfswa_runner *a = tfswa_runner_new(m, T, 0), *b = tfswa_runner_new(m, T, 1);
    int S4 = 4 * m->cfg.n_stems, F = tfswa_bins(&m->cfg);
    const float *ma = tfswa_forward(a, X, T, 0, T);
    const float *mb = tfswa_forward(b, X, T, 0, T);
    compare(mb, ma, (size_t)S4 * F * T, 2e-5, "folded BN vs unfolded");
    tfswa_runner_free(a);
    tfswa_runner_free(b);
}

static float *est_of(tfswa_runner *r, const tfswa_model *m, const float *X, int64_t Ttot, int64_t t0, int T, int s)
{
    int F = tfswa_bins(&m->cfg);
    float *e = malloc(sizeof(float) * 4 * F * T);
    const float *M = tfswa_forward(r, X, Ttot, t0, T);
    tfswa_estimate(e, M, &m->cfg, s, X, F, Ttot, t0, T);
    return e;
}

static void test_chunks(tfswa_model *m, const float *X, int T)
{
    const int F = tfswa_bins(&m->cfg), S = m->cfg.n_stems;
    float *est[TFSWA_MAX_STEMS];
    for (int s = 0; s < S; s++)
        est[s] = malloc(sizeof(float) * 4 * F * T);
    /* the plan: full coverage, chunks of L, overlaps >= O, last ends at T */
    static const int cases[][3] = {{30, 20, 6}, {100, 20, 5}, {21, 20, 19}, {1000, 37, 0}, {5, 20, 4}, {57, 8, 4}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int Tc = cases[i][0], L = cases[i][1], O = cases[i][2], len;
        int n = tfswa_chunk_plan(Tc, L, O, NULL, &len);
        int64_t st[200];
        CHECK(n <= 200, "too many chunks");
        tfswa_chunk_plan(Tc, L, O, st, &len);
        CHECK(len == (Tc < L ? Tc : L) && st[0] == 0 && st[n - 1] + len == Tc, "plan %d/%d/%d ends", Tc, L, O);
        for (int k = 0; k + 1 < n; k++)
            CHECK(st[k] + len - st[k + 1] >= O && st[k + 1] > st[k], "plan %d/%d/%d overlap %d", Tc, L, O, k);
        int R = tfswa_chunk_ramp(L, O);
        for (int t = 0; t < Tc; t++) { /* weights: positive total everywhere */
            double wsum = 0;
            for (int k = 0; k < n; k++)
                if (t >= st[k] && t < st[k] + len)
                    wsum += tfswa_chunk_weight(k, n, len, R, (int)(t - st[k]));
            CHECK(wsum > 0.1, "plan %d/%d/%d: weight %g at %d", Tc, L, O, wsum, t);
        }
    }
    /* one chunk (track shorter than the chunk): bit for bit the direct forward */
    tfswa_runner *r = tfswa_runner_new(m, 64, 1);
    tfswa_separate(r, X, T, est, 64, 8, NULL, NULL);
    for (int s = 0; s < S; s++) {
        float *e = est_of(r, m, X, T, 0, T, s);
        CHECK(memcmp(e, est[s], sizeof(float) * 4 * F * T) == 0, "single chunk differs from the direct forward");
        free(e);
    }
    /* two chunks of 20 frames overlapping by 6 (T = 30): starts 0 and 10; chunk
     * 0 alone on [0, 10), chunk 1 alone on [20, 30), a hand-computed blend between */
    const int L = 20, O = 6;
    tfswa_separate(r, X, T, est, L, O, NULL, NULL);
    for (int s = 0; s < S; s++) {
        float *e0 = est_of(r, m, X, T, 0, L, s), *e1 = est_of(r, m, X, T, 10, L, s);
        int exact = 1, blend_ok = 1;
        for (int cf = 0; cf < 2 * F; cf++)
            for (int t = 0; t < T; t++)
                for (int ri = 0; ri < 2; ri++) {
                    float got = est[s][2 * ((size_t)cf * T + t) + ri];
                    if (t < 10) {
                        exact &= got == e0[2 * ((size_t)cf * L + t) + ri];
                    } else if (t >= 20) {
                        exact &= got == e1[2 * ((size_t)cf * L + t - 10) + ri];
                    } else {
                        double w0 = t >= 14 ? (20 - t - 0.5) / 6 : 1.0; /* chunk 0 ramps down over its last 6 */
                        double w1 = t < 16 ? (t - 10 + 0.5) / 6 : 1.0;  /* chunk 1 ramps up over its first 6 */
                        double a = e0[2 * ((size_t)cf * L + t) + ri], b = e1[2 * ((size_t)cf * L + t - 10) + ri];
                        double want = (w0 * a + w1 * b) / (w0 + w1);
                        if (fabs(got - want) > 1e-5 * (fabs(a) + fabs(b)) + 1e-7)
                            blend_ok = 0;
                    }
                }
        CHECK(exact, "stem %d: frames covered by one chunk alone differ from that chunk's forward", s);
        CHECK(blend_ok, "stem %d: the blend differs from the hand-computed blend", s);
        free(e0);
        free(e1);
    }
    /* many chunks: wherever one chunk has all the weight, its own forward */
    {
        const int L2 = 12, O2 = 4;
        int len, n = tfswa_chunk_plan(T, L2, O2, NULL, &len);
        int64_t st[64];
        tfswa_chunk_plan(T, L2, O2, st, &len);
        tfswa_separate(r, X, T, est, L2, O2, NULL, NULL);
        int R = tfswa_chunk_ramp(L2, O2), checked = 0, exact = 1;
        for (int k = 0; k < n; k++) {
            float *e = est_of(r, m, X, T, st[k], len, 0);
            for (int j = 0; j < len; j++) {
                int t = (int)st[k] + j, alone = 1;
                for (int q = 0; q < n; q++)
                    if (q != k && t >= st[q] && t < st[q] + len && tfswa_chunk_weight(q, n, len, R, t - (int)st[q]) > 0)
                        alone = 0;
                if (!alone || tfswa_chunk_weight(k, n, len, R, j) != 1.0f)
                    continue;
                checked++;
                for (int cf = 0; cf < 2 * F; cf++)
                    for (int ri = 0; ri < 2; ri++)
                        exact &= est[0][2 * ((size_t)cf * T + t) + ri] == e[2 * ((size_t)cf * len + j) + ri];
            }
            free(e);
        }
        CHECK(checked > 0 && exact, "constant-weight frames (%d) differ from their chunk's forward", checked);
    }
    tfswa_runner_free(r);
    for (int s = 0; s < S; s++)
        free(est[s]);
}

/* Tracks under 8 frames are extended with silent frames and cropped: the
 * same masks as a forward over the zero-extended track; many stems (4 S >
 * c1) exercise the buffer sizes of the cropping path. */
static void test_short(void)
{
    tfswa_config c;
    tfswa_preset(&c, "tiny");
    int dims[4] = {4, 8, 8, 8};
    memcpy(c.dims, dims, sizeof dims);
    c.window = 2;
    c.n_fft = 32;
    c.hop = 8;
    c.n_stems = 8;
    for (int s = 0; s < 8; s++)
        snprintf(c.stems[s], TFSWA_STEM_NAME, "s%d", s);
    char err[256];
    CHECK(tfswa_config_check(&c, err, sizeof err) == 0, "%s", err);
    tfswa_model m;
    tfswa_model_alloc(&m, &c);
    tfswa_model_init_weights(&m);
    const int F = 17, S4 = 32;
    float X5[2 * 2 * 17 * 5], X8[2 * 2 * 17 * 8];
    tf_rng g;
    tf_rng_seed(&g, 11);
    memset(X8, 0, sizeof X8);
    for (int cf = 0; cf < 2 * F; cf++)
        for (int t = 0; t < 5; t++)
            for (int ri = 0; ri < 2; ri++)
                X8[2 * (cf * 8 + t) + ri] = X5[2 * (cf * 5 + t) + ri] = (float)tf_rng_normal(&g);
    tfswa_runner *r = tfswa_runner_new(&m, 5, 1);
    const float *m5 = tfswa_forward(r, X5, 5, 0, 5);
    float *keep = malloc(sizeof(float) * S4 * F * 5);
    memcpy(keep, m5, sizeof(float) * S4 * F * 5);
    const float *m8 = tfswa_forward(r, X8, 8, 0, 8);
    int same = 1;
    for (int k = 0; k < S4 * F; k++)
        for (int t = 0; t < 5; t++)
            same &= keep[k * 5 + t] == m8[k * 8 + t];
    CHECK(same, "a 5-frame track differs from its zero-extended 8-frame forward");
    free(keep);
    tfswa_runner_free(r);
    tfswa_model_free(&m);
}

/* --info's modules (the ops' modules, lib/model/net.h) against counts made
 * here from the tensor names' prefixes; every tensor belongs to one op, the
 * ops' tensors in layout order except the U-Net's norm.* (last). */
static void test_modules(void)
{
    static const char *const UNET[][2] = {{"stem.", "stem"},       {"enc.0.", "encoder 1"}, {"enc.1.", "encoder 2"},
                                          {"enc.2.", "encoder 3"}, {"mid.", "bottom"},      {"dec.2.", "decoder 3"},
                                          {"dec.1.", "decoder 2"}, {"dec.0.", "decoder 1"}, {"head.", "head"},
                                          {"norm.", "input norm"}};
    static const char *const BAND[][2] = {{"band.", "band embed"},
                                          {"blocks.", "blocks"},
                                          {"norm_out.", "final norm"},
                                          {"mask.", "mask head"},
                                          {"norm.", "input norm"}};
    static const char *const PRESETS[3] = {"seed", "tiny", "band"};
    for (int pi = 0; pi < 3; pi++) {
        tfswa_config c;
        tfswa_preset(&c, PRESETS[pi]);
        const int band = c.arch == TFSWA_ARCH_BAND, want_n = band ? 5 : 10;
        const char *const(*mods)[2] = band ? BAND : UNET;
        tfswa_layout L;
        tfswa_layout_build(&L, &c);
        size_t sp = 0, sb = 0;
        const char *name = NULL;
        size_t p, q;
        int nm = tfswa_net_module(&c, 0, &name, &p, &q);
        CHECK(nm == want_n, "%s: %d modules", PRESETS[pi], nm);
        for (int i = 0; i < nm && i < want_n; i++) {
            tfswa_net_module(&c, i, &name, &p, &q);
            size_t wp = 0, wb = 0, l = strlen(mods[i][0]);
            for (int k = 0; k < L.n; k++)
                if (strncmp(L.t[k].name, mods[i][0], l) == 0)
                    *(L.t[k].trainable ? &wp : &wb) += L.t[k].numel;
            CHECK(strcmp(name, mods[i][1]) == 0 && p == wp && q == wb, "%s module %d: %s %zu %zu, want %s %zu %zu",
                  PRESETS[pi], i, name, p, q, mods[i][1], wp, wb);
            sp += p, sb += q;
        }
        CHECK(sp == L.n_params && sb == L.n_total - L.n_params, "%s: modules cover %zu + %zu floats of %zu",
              PRESETS[pi], sp, sb, L.n_total);
        tfswa_net n;
        tfswa_net_build(&n, &c);
        int next = 0, covered = 0;
        for (int o = 0; o < n.n_ops; o++) {
            const tfswa_op *op = &n.ops[o];
            if (!band && op->kind == TFSWA_OP_FEATURES) {
                CHECK(op->t0 == L.n - 2 && op->nt == 2, "U-Net: norm.* last");
                covered += op->nt;
                continue;
            }
            CHECK(op->t0 == next, "%s op %d: tensors from %d, want %d", PRESETS[pi], o, op->t0, next);
            next += op->nt, covered += op->nt;
        }
        CHECK(covered == L.n && n.layout.n == L.n, "%s: ops hold %d of %d tensors", PRESETS[pi], covered, L.n);
        tfswa_net_free(&n);
        tfswa_layout_free(&L);
    }
}

int main(void)
{
    tf_set_threads(1); /* small problems: OpenMP threads would only spin */
    test_layout();
    test_flops();
    test_init();
    test_short();
    test_band_layout();
    test_modules();
    static const char *const DIRS[2] = {"model", "model-band"};
    for (int d = 0; d < 2; d++) {
        DATA_DIR = DIRS[d];
        tfswa_model m;
        char err[1024];
        int rc = tfswa_ckpt_load(data_path("golden.ckpt"), &m, NULL, err, sizeof err);
        CHECK(rc == 0, "golden checkpoint: %s", err);
        CHECK(rc != 0 || m.cfg.arch == (d ? TFSWA_ARCH_BAND : TFSWA_ARCH_UNET), "%s: architecture", DIRS[d]);
        if (rc == 0) {
            test_golden(&m);
            const int T = 30, F = tfswa_bins(&m.cfg);
            float *X = malloc(sizeof(float) * 4 * F * T);
            tf_rng g;
            tf_rng_seed(&g, 3);
            for (int i = 0; i < 4 * F * T; i++)
                X[i] = (float)tf_rng_normal(&g);
            if (d == 0)
                test_fold(&m, X, T);
            test_chunks(&m, X, T);
            free(X);
            tfswa_model_free(&m);
        }
    }
    return check_report("model");
}
