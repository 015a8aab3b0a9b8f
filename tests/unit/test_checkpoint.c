/* Checkpoint format: round trip, training-state pass-through, statistics
 * files, and clear errors for bad checkpoints (truncated, wrong format or
 * version, wrong shapes or dtypes, missing, unknown or non-finite tensors,
 * extra records, garbage). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "model/checkpoint.h"
#include "model/model.h"
#include "stream/ts.h"

static char dir[4096];

static void small_config(tfswa_config *c)
{
    tfswa_preset(c, "tiny");
    int dims[4] = {4, 8, 8, 8}, depths[4] = {1, 0, 1, 1};
    memcpy(c->dims, dims, sizeof dims);
    memcpy(c->depths, depths, sizeof depths);
    for (int i = 0; i < 4; i++)
        c->heads[i] = 2;
    c->window = 2;
    c->n_fft = 16;
    c->hop = 4;
    c->seed = 99;
    snprintf(c->preset, sizeof c->preset, "custom");
}

static char *path(const char *name)
{
    static char buf[8][4200];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 4200, "%s/%s", dir, name);
    return p;
}

/* Loads a checkpoint record, lets edit() change it, writes it to name. */
static void rewrite(const char *src, const char *name, void (*edit)(ts_record *))
{
    char *paths[1] = {(char *)src};
    ts_reader *r = ts_reader_open(1, paths);
    ts_record rec;
    ts_record_init(&rec);
    int rc = ts_read(r, &rec);
    CHECK(rc == 1, "read %s: %s", src, rc < 0 ? ts_reader_error(r) : "empty");
    ts_reader_close(r);
    edit(&rec);
    FILE *f = fopen(path(name), "wb");
    ts_writer *w = ts_writer_open(f, name);
    CHECK(ts_write(w, &rec) == 0, "write");
    CHECK(ts_writer_close(w) == 0, "close");
    fclose(f);
    ts_record_free(&rec);
}

static void expect_error(const char *name, const char *needle)
{
    tfswa_model m;
    char err[1024] = "";
    int rc = tfswa_ckpt_load(path(name), &m, NULL, err, sizeof err);
    CHECK(rc == -1, "%s: loaded a bad checkpoint", name);
    CHECK(strstr(err, needle) != NULL, "%s: error '%s' lacks '%s'", name, err, needle);
    CHECK(strstr(err, name) != NULL, "%s: error '%s' does not name the file", name, err);
    if (rc == 0)
        tfswa_model_free(&m);
}

static void e_version(ts_record *r) { ts_attr_set(r, "checkpoint_version", "2"); }
static void e_format(ts_record *r) { ts_attr_set(r, "format", "something-else"); }
static void e_noformat(ts_record *r) { ts_attr_remove(r, "format"); }
static void e_shape(ts_record *r)
{
    int64_t s[2] = {3, 4};
    ts_tensor_add(r, "enc.0.blocks.0.fsa.attn.qkv.weight", TS_F32, 2, s);
}
static void e_missing(ts_record *r) { ts_tensor_remove(r, "head.out.bias"); }
static void e_unknown(ts_record *r)
{
    int64_t s[1] = {3};
    ts_tensor_add(r, "enc.0.extra.weight", TS_F32, 1, s);
}
static void e_nan(ts_record *r)
{
    ts_tensor *t = ts_tensor_get(r, "mid.blocks.0.swmsa.mlp.fc1.bias");
    ((float *)t->data)[1] = NAN;
}
static void e_dtype(ts_record *r)
{
    int64_t s[1] = {4};
    ts_tensor_add(r, "stem.conv.bias", TS_F64, 1, s);
}
static void e_std(ts_record *r)
{
    ts_tensor *t = ts_tensor_get(r, "norm.std");
    ((float *)t->data)[5] = 0;
}
static void e_dims(ts_record *r) { ts_attr_set(r, "dims", "4,8,8"); }
static void e_heads(ts_record *r) { ts_attr_set(r, "heads", "3"); }
static void e_mask(ts_record *r) { ts_attr_set(r, "mask", "tanh"); }

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ckptXXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char err[1024];
    tfswa_config c;
    small_config(&c);
    CHECK(tfswa_config_check(&c, err, sizeof err) == 0, "config: %s", err);

    /* round trip, with training state */
    tfswa_model m;
    tfswa_model_alloc(&m, &c);
    tfswa_model_init_weights(&m);
    for (size_t i = 0; i < m.layout.n_total; i++) /* make buffers distinct too */
        if (m.data[i] == 0)
            m.data[i] = (float)i * 1e-4f;
    ts_record extra;
    ts_record_init(&extra);
    int64_t sh[1] = {4};
    ts_tensor *t = ts_tensor_add(&extra, "optim/m/stem.conv.bias", TS_F32, 1, sh);
    ((float *)t->data)[2] = 3.5f;
    int64_t s1[1] = {1};
    t = ts_tensor_add(&extra, "train/step", TS_I64, 1, s1);
    ((int64_t *)t->data)[0] = 1234;
    ts_attr_set(&extra, "step", "1234");
    ts_attr_set(&extra, "depths", "9,9,9,9"); /* configuration keys of extra are ignored */
    CHECK(tfswa_ckpt_save(path("a.ckpt"), &m, &extra, err, sizeof err) == 0, "save: %s", err);
    tfswa_model m2;
    ts_record ex2;
    ts_record_init(&ex2);
    CHECK(tfswa_ckpt_load(path("a.ckpt"), &m2, &ex2, err, sizeof err) == 0, "load: %s", err);
    CHECK(memcmp(&m2.cfg, &m.cfg, sizeof m.cfg) == 0, "configuration differs after the round trip");
    CHECK(m2.layout.n_total == m.layout.n_total && memcmp(m2.data, m.data, m.layout.n_total * 4) == 0,
          "weights differ after the round trip");
    CHECK(ex2.n_tensors == 2, "extra tensors: %d", ex2.n_tensors);
    t = ts_tensor_get(&ex2, "optim/m/stem.conv.bias");
    CHECK(t && ((float *)t->data)[2] == 3.5f, "optim tensor lost");
    t = ts_tensor_get(&ex2, "train/step");
    CHECK(t && t->dtype == TS_I64 && ((int64_t *)t->data)[0] == 1234, "train tensor lost");
    CHECK(ts_attr_get(&ex2, "step") && strcmp(ts_attr_get(&ex2, "step"), "1234") == 0, "attribute lost");
    CHECK(ts_attr_get(&ex2, "depths") == NULL, "configuration attribute leaked into extra");
    /* the input statistics bound where the layout says; window layers alone
     * have a rel bias (window 2: a (2 * 2 - 1)^2 table) */
    int k = tfswa_layout_find(&m2.layout, "norm.std");
    CHECK(k >= 0 && m2.w.norm_std == m2.data + m2.layout.t[k].offset, "binding of norm.std");
    k = tfswa_layout_find(&m2.layout, "mid.blocks.0.wmsa.attn.relative_position_bias_table");
    CHECK(k >= 0 && m2.layout.t[k].shape[0] == 3 * 3 && m2.layout.t[k].shape[1] == m2.cfg.heads[3],
          "rel bias of a window layer");
    CHECK(tfswa_layout_find(&m2.layout, "mid.blocks.0.tsa.attn.relative_position_bias_table") < 0 &&
              tfswa_layout_find(&m2.layout, "mid.blocks.0.fsa.attn.relative_position_bias_table") < 0,
          "TSA/FSA have no rel bias");
    tfswa_model_free(&m2);
    ts_record_free(&ex2);
    ts_record_free(&extra);

    /* the file is one stream record: its attributes are the configuration */
    {
        char *paths[1] = {path("a.ckpt")};
        ts_reader *r = ts_reader_open(1, paths);
        ts_record rec;
        ts_record_init(&rec);
        CHECK(ts_read(r, &rec) == 1, "read");
        CHECK(strcmp(ts_attr_get(&rec, "format"), "tfswa-checkpoint") == 0, "format attribute");
        CHECK(strcmp(ts_attr_get(&rec, "dims"), "4,8,8,8") == 0, "dims attribute");
        CHECK(strcmp(ts_attr_get(&rec, "stems"), "vocals,drums,bass,other") == 0, "stems attribute");
        CHECK(strcmp(ts_attr_get(&rec, "seed"), "99") == 0, "seed attribute");
        CHECK(rec.n_tensors == m.layout.n + 2, "tensor count %d", rec.n_tensors);
        t = ts_tensor_get(&rec, "stem.conv.weight");
        CHECK(t && t->rank == 4 && t->shape[0] == 4 && t->shape[1] == 4 && t->shape[2] == 7 && t->shape[3] == 7,
              "stem.conv.weight shape");
        t = ts_tensor_get(&rec, "dec.1.up.conv.weight"); /* ConvTranspose2d: (Cin, Cout, k, k) */
        CHECK(t && t->shape[0] == 8 && t->shape[1] == 8, "dec.1.up.conv.weight shape");
        t = ts_tensor_get(&rec, "norm.mean");
        CHECK(t && t->rank == 2 && t->shape[0] == 4 && t->shape[1] == 9, "norm.mean shape");
        ts_record_free(&rec);
        ts_reader_close(r);
    }

    /* bad checkpoints */
    rewrite(path("a.ckpt"), "version.ckpt", e_version);
    expect_error("version.ckpt", "version 2 is not supported");
    rewrite(path("a.ckpt"), "format.ckpt", e_format);
    expect_error("format.ckpt", "not a tfswa checkpoint");
    rewrite(path("a.ckpt"), "noformat.ckpt", e_noformat);
    expect_error("noformat.ckpt", "not a tfswa checkpoint");
    rewrite(path("a.ckpt"), "shape.ckpt", e_shape);
    expect_error("shape.ckpt",
                 "tensor 'enc.0.blocks.0.fsa.attn.qkv.weight' has shape (3, 4); the configuration needs (12, 4)");
    rewrite(path("a.ckpt"), "missing.ckpt", e_missing);
    expect_error("missing.ckpt", "tensor 'head.out.bias' (16) is missing");
    rewrite(path("a.ckpt"), "unknown.ckpt", e_unknown);
    expect_error("unknown.ckpt", "tensor 'enc.0.extra.weight' is not part of a model");
    rewrite(path("a.ckpt"), "nan.ckpt", e_nan);
    expect_error("nan.ckpt", "tensor 'mid.blocks.0.swmsa.mlp.fc1.bias': element 1 is not finite");
    rewrite(path("a.ckpt"), "dtype.ckpt", e_dtype);
    expect_error("dtype.ckpt", "tensor 'stem.conv.bias' is f64, not f32");
    rewrite(path("a.ckpt"), "std.ckpt", e_std);
    expect_error("std.ckpt", "tensor 'norm.std': element 5");
    rewrite(path("a.ckpt"), "dims.ckpt", e_dims);
    expect_error("dims.ckpt", "attribute 'dims'");
    rewrite(path("a.ckpt"), "heads.ckpt", e_heads);
    expect_error("heads.ckpt", "heads: 3 does not divide");
    rewrite(path("a.ckpt"), "mask.ckpt", e_mask);
    expect_error("mask.ckpt", "attribute 'mask'");

    /* truncations at many lengths: never loads, always says where */
    FILE *f = fopen(path("a.ckpt"), "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    unsigned char *bytes = malloc((size_t)size);
    CHECK(fread(bytes, 1, (size_t)size, f) == (size_t)size, "read bytes");
    fclose(f);
    long cuts[] = {0, 5, 16, 30, 200, size / 2, size - 17, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        FILE *g = fopen(path("trunc.ckpt"), "wb");
        fwrite(bytes, 1, (size_t)cuts[i], g);
        fclose(g);
        tfswa_model mt;
        char e2[1024] = "";
        int rc = tfswa_ckpt_load(path("trunc.ckpt"), &mt, NULL, e2, sizeof e2);
        CHECK(rc == -1 && strstr(e2, "trunc.ckpt"), "truncated at %ld: rc %d, '%s'", cuts[i], rc, e2);
        if (rc == 0)
            tfswa_model_free(&mt);
    }
    /* a flipped byte in the middle: the CRC catches it */
    bytes[size / 2] ^= 0x40;
    FILE *g = fopen(path("flip.ckpt"), "wb");
    fwrite(bytes, 1, (size_t)size, g);
    fclose(g);
    expect_error("flip.ckpt", "flip.ckpt");
    bytes[size / 2] ^= 0x40;
    /* two records */
    g = fopen(path("two.ckpt"), "wb");
    fwrite(bytes, 1, (size_t)size - 16, g); /* without the end marker */
    fwrite(bytes + 16, 1, (size_t)size - 16, g);
    fclose(g);
    expect_error("two.ckpt", "more than one record");
    free(bytes);
    g = fopen(path("garbage.ckpt"), "wb");
    fputs("this is not a checkpoint at all\n", g);
    fclose(g);
    expect_error("garbage.ckpt", "bad magic");
    expect_error("does-not-exist.ckpt", "cannot open");

    /* atomic: an impossible destination leaves nothing behind, reports the path */
    CHECK(tfswa_ckpt_save(path("no/such/dir/x.ckpt"), &m, NULL, err, sizeof err) == -1, "saved into a missing dir");
    CHECK(strstr(err, "x.ckpt") != NULL, "error '%s'", err);

    /* statistics files (formats/spec-stats.md, written by specnorm) */
    {
        ts_record rec;
        ts_record_init(&rec);
        int64_t s2[2] = {4, 9};
        ts_tensor *mean = ts_tensor_add(&rec, "mean", TS_F32, 2, s2);
        ts_tensor *sd = ts_tensor_add(&rec, "std", TS_F64, 2, s2);
        for (int i = 0; i < 36; i++) {
            ((float *)mean->data)[i] = (float)i;
            ((double *)sd->data)[i] = 1.0 + i;
        }
        ((double *)sd->data)[9] = 0; /* im of the DC bin: exactly 0 */
        ts_attr_set(&rec, "format", "tfswa-spec-stats");
        ts_attr_set(&rec, "version", "1");
        ts_attr_set(&rec, "n_fft", "16");
        ts_attr_set(&rec, "hop", "4");
        static const char *const files[4] = {"stats.ts", "stats2.ts", "stats3.ts", "stats4.ts"};
        for (int v = 0; v < 4; v++) {
            if (v == 1)
                ts_attr_set(&rec, "n_fft", "32");
            if (v == 2) {
                ts_attr_set(&rec, "n_fft", "16");
                int64_t s3[2] = {2, 9};
                ts_tensor_add(&rec, "mean", TS_F32, 2, s3);
                ts_tensor_add(&rec, "std", TS_F32, 2, s3);
            }
            if (v == 3)
                ts_attr_set(&rec, "format", "something");
            g = fopen(path(files[v]), "wb");
            ts_writer *w = ts_writer_open(g, files[v]);
            CHECK(ts_write(w, &rec) == 0 && ts_writer_close(w) == 0, "write stats");
            fclose(g);
            err[0] = 0;
            int rc = tfswa_load_stats(path(files[v]), &m, err, sizeof err);
            CHECK(v == 0 ? rc == 0 : rc == -1 && strstr(err, files[v]) != NULL, "stats %s: rc %d '%s'", files[v], rc,
                  err);
            if (v == 0)
                CHECK(m.w.norm_mean[35] == 35.0f && m.w.norm_std[35] == 36.0f && m.w.norm_std[9] == TFSWA_STD_FLOOR,
                      "stats values");
            if (v == 1)
                CHECK(strstr(err, "n_fft 32") != NULL, "another n_fft: '%s'", err);
            if (v == 2)
                CHECK(strstr(err, "2 feature channels") != NULL, "mono statistics: '%s'", err);
        }
        ts_record_free(&rec);
    }
    tfswa_model_free(&m);

    /* configuration checks */
    small_config(&c);
    c.window = 3;
    CHECK(tfswa_config_check(&c, err, sizeof err) == -1 && strstr(err, "window"), "odd window accepted");
    small_config(&c);
    c.n_stems = 2;
    snprintf(c.stems[1], TFSWA_STEM_NAME, "vocals");
    CHECK(tfswa_config_check(&c, err, sizeof err) == -1 && strstr(err, "twice"), "duplicate stem accepted");
    int v[4];
    CHECK(tfswa_parse_ints("3", v, 4) == 0 && v[0] == 3 && v[3] == 3, "one value fills all");
    CHECK(tfswa_parse_ints("1,2,3,4", v, 4) == 0 && v[2] == 3, "list");
    CHECK(tfswa_parse_ints("1,2,3", v, 4) == -1 && tfswa_parse_ints("1,,2,3", v, 4) == -1 &&
              tfswa_parse_ints("1,2,3,4,5", v, 4) == -1 && tfswa_parse_ints("x", v, 4) == -1,
          "bad lists rejected");

    /* cleanup */
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    return check_report("checkpoint");
}
