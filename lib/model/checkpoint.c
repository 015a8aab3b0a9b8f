/* Checkpoint reader and writer (formats/checkpoint.md). */
#include "model/checkpoint.h"
#include "dsp/specnorm.h"
#include "util/atomic.h"
#include "util/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CONFIG_KEYS[] = {"format",      "checkpoint_version",
                                          "preset",      "depths",
                                          "dims",        "heads",
                                          "window",      "mlp_ratio",
                                          "n_fft",       "hop",
                                          "rate",        "stems",
                                          "seed",        "in_channels",
                                          "mask",        "bn_eps",
                                          "ln_eps",      "n_params",
                                          "arch",        "bands",
                                          "mask_hidden", "features",
                                          NULL};

int tfswa_is_config_attr(const char *key)
{
    for (int i = 0; CONFIG_KEYS[i]; i++)
        if (strcmp(CONFIG_KEYS[i], key) == 0)
            return 1;
    return 0;
}

void tfswa_config_to_attrs(const tfswa_config *c, ts_record *r)
{
    char buf[TFSWA_MAX_BANDS * 8];
    ts_attr_set(r, "format", TFSWA_CKPT_FORMAT);
    ts_attr_setf(r, "checkpoint_version", "%d", TFSWA_CKPT_VERSION);
    ts_attr_set(r, "preset", c->preset[0] ? c->preset : "custom");
    const int band = c->arch == TFSWA_ARCH_BAND, nl = band ? 1 : TFSWA_LEVELS; /* band: one value each */
    if (band) {
        int w[TFSWA_MAX_BANDS], K = tfswa_band_widths(c, w);
        ts_attr_set(r, "arch", "band");
        tfswa_format_ints(buf, sizeof buf, w, K);
        ts_attr_set(r, "bands", buf);
        ts_attr_setf(r, "mask_hidden", "%d", c->mask_hidden);
        if (c->features) /* absent: complex, as checkpoints before the attribute */
            ts_attr_set(r, "features", tfswa_features_name(c->features));
    }
    tfswa_format_ints(buf, sizeof buf, c->depths, nl);
    ts_attr_set(r, "depths", buf);
    tfswa_format_ints(buf, sizeof buf, c->dims, nl);
    ts_attr_set(r, "dims", buf);
    tfswa_format_ints(buf, sizeof buf, c->heads, nl);
    ts_attr_set(r, "heads", buf);
    ts_attr_setf(r, "window", "%d", c->window);
    ts_attr_setf(r, "mlp_ratio", "%d", c->mlp_ratio);
    ts_attr_setf(r, "n_fft", "%d", c->n_fft);
    ts_attr_setf(r, "hop", "%d", c->hop);
    ts_attr_setf(r, "rate", "%d", c->rate);
    size_t o = 0;
    buf[0] = 0;
    for (int s = 0; s < c->n_stems; s++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", s ? "," : "", c->stems[s]);
    ts_attr_set(r, "stems", buf);
    ts_attr_setf(r, "seed", "%" PRIu64, c->seed);
    ts_attr_setf(r, "in_channels", "%d", TFSWA_IN_CH);
    ts_attr_set(r, "mask", c->residual ? "residual" : "unbounded");
    ts_attr_set(r, "bn_eps", "1e-05");
    ts_attr_set(r, "ln_eps", "1e-05");
    tfswa_layout L;
    tfswa_layout_build(&L, c);
    ts_attr_setf(r, "n_params", "%zu", L.n_params);
    tfswa_layout_free(&L);
}

static int get_int(const ts_record *r, const char *key, int *out, char *err, size_t len)
{
    int64_t v;
    int rc = ts_attr_get_i64(r, key, &v);
    if (rc == -1)
        return tf_fail(err, len, "attribute '%s' is missing", key);
    if (rc < 0 || v < INT32_MIN || v > INT32_MAX)
        return tf_fail(err, len, "attribute '%s': '%s' is not an integer", key, ts_attr_get(r, key));
    *out = (int)v;
    return 0;
}

static int get_list(const ts_record *r, const char *key, int *out, char *err, size_t len)
{
    const char *s = ts_attr_get(r, key);
    if (!s)
        return tf_fail(err, len, "attribute '%s' is missing", key);
    if (tfswa_parse_ints(s, out, TFSWA_LEVELS) < 0)
        return tf_fail(err, len, "attribute '%s': '%s' is not a list of %d integers", key, s, TFSWA_LEVELS);
    return 0;
}

int tfswa_config_from_attrs(tfswa_config *c, const ts_record *r, char *err, size_t len)
{
    memset(c, 0, sizeof *c);
    const char *p = ts_attr_get(r, "preset");
    snprintf(c->preset, sizeof c->preset, "%s", p ? p : "custom");
    if (get_list(r, "depths", c->depths, err, len) < 0 || get_list(r, "dims", c->dims, err, len) < 0 ||
        get_list(r, "heads", c->heads, err, len) < 0 || get_int(r, "window", &c->window, err, len) < 0 ||
        get_int(r, "mlp_ratio", &c->mlp_ratio, err, len) < 0 || get_int(r, "n_fft", &c->n_fft, err, len) < 0 ||
        get_int(r, "hop", &c->hop, err, len) < 0)
        return -1;
    const char *arch = ts_attr_get(r, "arch");
    if (arch && strcmp(arch, "band") == 0) {
        c->arch = TFSWA_ARCH_BAND;
        const char *b = ts_attr_get(r, "bands");
        if (!b)
            return tf_fail(err, len, "attribute 'bands' is missing (a band model)");
        if (tfswa_parse_bands(b, c) < 0)
            return tf_fail(err, len, "attribute 'bands': '%.60s' is not a list of at most %d integers", b,
                           TFSWA_MAX_BANDS);
        if (get_int(r, "mask_hidden", &c->mask_hidden, err, len) < 0)
            return -1;
        const char *feat = ts_attr_get(r, "features");
        if (feat && (c->features = tfswa_parse_features(feat)) < 0)
            return tf_fail(err, len, "attribute 'features': '%.40s' (this tfswa-net computes 'complex' and 'logmag')",
                           feat);
    } else if (arch && strcmp(arch, "unet") != 0) {
        return tf_fail(err, len, "attribute 'arch': '%s' (this tfswa-net builds 'unet' and 'band')", arch);
    }
    c->rate = 44100;
    if (ts_attr_get(r, "rate") && get_int(r, "rate", &c->rate, err, len) < 0)
        return -1;
    const char *in = ts_attr_get(r, "in_channels");
    if (in && strcmp(in, "4") != 0)
        return tf_fail(err, len, "attribute 'in_channels': %s input channels (this tfswa-net builds 4)", in);
    const char *mask = ts_attr_get(r, "mask");
    c->residual = mask && strcmp(mask, "residual") == 0;
    if (mask && !c->residual && strcmp(mask, "unbounded") != 0)
        return tf_fail(
            err, len,
            "attribute 'mask': '%s' masks are not supported (this tfswa-net computes 'unbounded' and 'residual')",
            mask);
    const char *stems = ts_attr_get(r, "stems");
    if (!stems || !*stems)
        return tf_fail(err, len, "attribute 'stems' is missing");
    const char *q = stems;
    c->n_stems = 0;
    while (1) {
        const char *e = strchr(q, ',');
        size_t l = e ? (size_t)(e - q) : strlen(q);
        if (c->n_stems == TFSWA_MAX_STEMS)
            return tf_fail(err, len, "attribute 'stems': more than %d stems", TFSWA_MAX_STEMS);
        if (l == 0 || l >= TFSWA_STEM_NAME)
            return tf_fail(err, len, "attribute 'stems': bad stem list '%s'", stems);
        memcpy(c->stems[c->n_stems], q, l);
        c->stems[c->n_stems++][l] = 0;
        if (!e)
            break;
        q = e + 1;
    }
    const char *sd = ts_attr_get(r, "seed");
    if (sd) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(sd, &end, 10);
        if (end == sd || *end || errno)
            return tf_fail(err, len, "attribute 'seed': '%s' is not an unsigned integer", sd);
        c->seed = v;
    }
    char why[256];
    if (tfswa_config_check(c, why, sizeof why) < 0)
        return tf_fail(err, len, "configuration: %s", why);
    return 0;
}

/* ---- writing ---- */

static int writer_fail(ts_writer *w, char *err, size_t len) { return tf_fail(err, len, "%s", ts_writer_error(w)); }

int tfswa_ckpt_save(const char *path, const tfswa_model *m, const ts_record *extra, char *err, size_t len)
{
    ts_record hdr;
    ts_record_init(&hdr);
    tfswa_config_to_attrs(&m->cfg, &hdr);
    int n_extra = 0;
    if (extra) {
        for (int i = 0; i < extra->n_attrs; i++)
            if (!tfswa_is_config_attr(extra->attrs[i].key))
                ts_attr_set(&hdr, extra->attrs[i].key, extra->attrs[i].value);
        n_extra = extra->n_tensors;
        for (int i = 0; i < n_extra; i++)
            if (tfswa_layout_find(&m->layout, extra->tensors[i].name) >= 0) {
                ts_record_free(&hdr);
                return tf_fail(err, len, "%s: extra tensor '%s' has the name of a model tensor", path,
                               extra->tensors[i].name);
            }
    }
    tf_atomic a;
    FILE *f = tf_atomic_open(&a, path);
    if (!f) {
        ts_record_free(&hdr);
        return tf_fail(err, len, "%s: cannot create: %s", path, strerror(errno));
    }
    ts_writer *w = ts_writer_open(f, path);
    int rc = ts_write_begin(w, &hdr, m->layout.n + n_extra);
    for (int i = 0; rc == 0 && i < m->layout.n; i++) {
        const tfswa_tensor *t = &m->layout.t[i];
        ts_tensor info;
        memset(&info, 0, sizeof info);
        info.name = (char *)t->name;
        info.dtype = TS_F32;
        info.rank = t->rank;
        memcpy(info.shape, t->shape, sizeof(int64_t) * (size_t)t->rank);
        info.nbytes = t->numel * sizeof(float);
        rc = ts_write_tensor_info(w, &info);
        if (rc == 0)
            rc = ts_write_tensor_data(w, m->data + t->offset, info.nbytes);
    }
    for (int i = 0; rc == 0 && i < n_extra; i++) {
        const ts_tensor *t = &extra->tensors[i];
        rc = ts_write_tensor_info(w, t);
        if (rc == 0)
            rc = ts_write_tensor_data(w, t->data, t->nbytes);
    }
    if (rc == 0)
        rc = ts_write_finish(w);
    ts_record_free(&hdr);
    if (rc < 0) {
        writer_fail(w, err, len);
        ts_writer_free(w);
        tf_atomic_abort(&a);
        return -1;
    }
    if (ts_writer_close(w) < 0) { /* frees w */
        tf_fail(err, len, "%s: write error", path);
        tf_atomic_abort(&a);
        return -1;
    }
    if (tf_atomic_commit(&a) < 0)
        return tf_fail(err, len, "%s: cannot write: %s", path, strerror(errno));
    return 0;
}

/* ---- reading ---- */

static void shape_str(char *buf, size_t len, int rank, const int64_t *shape)
{
    size_t o = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < rank && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (o < len)
        snprintf(buf + o, len - o, ")");
}

/* Reads the single record of a file into rec; checks the clean end. */
static int read_single(const char *path, ts_record *rec, const char *what, int *more, char *err, size_t len)
{
    char *paths[1] = {(char *)path};
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return tf_fail(err, len, "%s: cannot open: %s", path, strerror(errno));
    fclose(probe);
    ts_reader *r = ts_reader_open(1, paths);
    int rc = ts_read(r, rec);
    if (rc < 0) {
        tf_fail(err, len, "%s", ts_reader_error(r));
        ts_reader_close(r);
        return -1;
    }
    if (rc == 0) {
        ts_reader_close(r);
        return tf_fail(err, len, "%s: empty stream: no %s record", path, what);
    }
    ts_record next;
    ts_record_init(&next);
    rc = ts_read(r, &next);
    ts_record_free(&next);
    if (rc < 0) {
        tf_fail(err, len, "%s", ts_reader_error(r));
        ts_reader_close(r);
        return -1;
    }
    ts_reader_close(r);
    *more = rc > 0;
    return 0;
}

static int is_extra_name(const char *name)
{
    return strncmp(name, "optim/", 6) == 0 || strncmp(name, "train/", 6) == 0;
}

/* The record's format, that it is the file's only record, its version and
 * its configuration (into cfg). */
static int check_header(const char *path, const ts_record *rec, int more, tfswa_config *cfg, char *err, size_t len)
{
    const char *fmt = ts_attr_get(rec, "format");
    if (!fmt || strcmp(fmt, TFSWA_CKPT_FORMAT) != 0)
        return tf_fail(err, len, "%s: not a tfswa checkpoint (attribute 'format' is %s%s%s, not '%s')", path,
                       fmt ? "'" : "", fmt ? fmt : "missing", fmt ? "'" : "", TFSWA_CKPT_FORMAT);
    if (more)
        return tf_fail(err, len, "%s: more than one record (a checkpoint holds exactly one)", path);
    int64_t ver;
    int vrc = ts_attr_get_i64(rec, "checkpoint_version", &ver);
    if (vrc < 0)
        return tf_fail(err, len, "%s: attribute 'checkpoint_version' is %s", path, vrc == -1 ? "missing" : "malformed");
    if (ver != TFSWA_CKPT_VERSION)
        return tf_fail(err, len, "%s: checkpoint version %lld is not supported (this tfswa-net reads version %d)", path,
                       (long long)ver, TFSWA_CKPT_VERSION);
    char why[512];
    if (tfswa_config_from_attrs(cfg, rec, why, sizeof why) < 0)
        return tf_fail(err, len, "%s: %s", path, why);
    return 0;
}

/* Layout tensor t from the record's tensor x (NULL: missing) into dst:
 * f32, exactly t's shape, finite. */
static int copy_tensor(const char *path, const tfswa_tensor *t, const ts_tensor *x, float *dst, char *err, size_t len)
{
    char want[128], got[128];
    shape_str(want, sizeof want, t->rank, t->shape);
    if (!x)
        return tf_fail(err, len, "%s: tensor '%s' %s is missing", path, t->name, want);
    if (x->dtype != TS_F32)
        return tf_fail(err, len, "%s: tensor '%s' is %s, not f32", path, t->name, ts_dtype_name(x->dtype));
    int same = x->rank == t->rank;
    for (int k = 0; same && k < t->rank; k++)
        same = x->shape[k] == t->shape[k];
    if (!same) {
        shape_str(got, sizeof got, x->rank, x->shape);
        return tf_fail(err, len, "%s: tensor '%s' has shape %s; the configuration needs %s", path, t->name, got, want);
    }
    const float *src = x->data;
    for (size_t k = 0; k < t->numel; k++) {
        if (!isfinite(src[k]))
            return tf_fail(err, len, "%s: tensor '%s': element %zu is not finite (%g)", path, t->name, k,
                           (double)src[k]);
        dst[k] = src[k];
    }
    return 0;
}

/* The buffers' constraints: norm.std > 0, BatchNorm running variances >= 0. */
static int check_buffers(const char *path, const tfswa_model *m, char *err, size_t len)
{
    for (int i = 0; i < TFSWA_IN_CH * tfswa_bins(&m->cfg); i++)
        if (!(m->w.norm_std[i] > 0))
            return tf_fail(err, len, "%s: tensor 'norm.std': element %d is %g (must be > 0)", path, i,
                           (double)m->w.norm_std[i]);
    for (int i = 0; i < m->layout.n; i++) {
        const tfswa_tensor *t = &m->layout.t[i];
        size_t l = strlen(t->name);
        if (l >= 15 && strcmp(t->name + l - 15, "bn.running_var") == 0)
            for (size_t k = 0; k < t->numel; k++)
                if (m->data[t->offset + k] < 0)
                    return tf_fail(err, len, "%s: tensor '%s': element %zu is negative (%g)", path, t->name, k,
                                   (double)m->data[t->offset + k]);
    }
    return 0;
}

/* The record's tensors outside the model's layout: only optim/ and train/
 * ones are allowed; they (moved out of rec) and the attributes that are not
 * the configuration go to extra when it is not NULL. */
static int take_extras(const char *path, const tfswa_model *m, ts_record *rec, ts_record *extra, char *err, size_t len)
{
    for (int i = 0; i < rec->n_tensors; i++) {
        ts_tensor *x = &rec->tensors[i];
        if (tfswa_layout_find(&m->layout, x->name) >= 0)
            continue;
        if (!is_extra_name(x->name))
            return tf_fail(
                err, len,
                "%s: tensor '%s' is not part of a model of this configuration (only optim/ and train/ may be added)",
                path, x->name);
        if (extra) {
            ts_tensor_adopt(extra, x->name, x->dtype, x->rank, x->shape, x->data);
            x->data = NULL;
            x->nbytes = 0;
        }
    }
    if (extra)
        for (int i = 0; i < rec->n_attrs; i++)
            if (!tfswa_is_config_attr(rec->attrs[i].key))
                ts_attr_set(extra, rec->attrs[i].key, rec->attrs[i].value);
    return 0;
}

/* The model of a checkpoint record: its configuration, then every tensor
 * of the layout, then the buffers' constraints and the extras. */
static int model_from_record(const char *path, ts_record *rec, int more, tfswa_model *m, ts_record *extra, char *err,
                             size_t len)
{
    tfswa_config cfg;
    if (check_header(path, rec, more, &cfg, err, len) < 0)
        return -1;
    tfswa_model_alloc(m, &cfg);
    for (int i = 0; i < m->layout.n; i++) {
        const tfswa_tensor *t = &m->layout.t[i];
        if (copy_tensor(path, t, ts_tensor_get(rec, t->name), m->data + t->offset, err, len) < 0)
            goto bad_model;
    }
    if (check_buffers(path, m, err, len) < 0 || take_extras(path, m, rec, extra, err, len) < 0)
        goto bad_model;
    return 0;
bad_model:
    tfswa_model_free(m);
    if (extra)
        ts_record_free(extra);
    return -1;
}

int tfswa_ckpt_load(const char *path, tfswa_model *m, ts_record *extra, char *err, size_t len)
{
    memset(m, 0, sizeof *m);
    if (extra)
        ts_record_free(extra);
    ts_record rec;
    ts_record_init(&rec);
    int more = 0, rc = read_single(path, &rec, "checkpoint", &more, err, len);
    if (rc == 0)
        rc = model_from_record(path, &rec, more, m, extra, err, len);
    ts_record_free(&rec);
    return rc;
}

int tfswa_load_stats(const char *path, tfswa_model *m, char *err, size_t len)
{
    specnorm_stats st;
    memset(&st, 0, sizeof st);
    if (specnorm_load(path, &st, err, len) < 0)
        return -1;
    const int F = tfswa_bins(&m->cfg);
    int rc = -1;
    if (st.channels != TFSWA_IN_CH || st.bins != F)
        tf_fail(err, len,
                "%s: statistics of %d feature channels x %lld bins; the model needs 4 x %d (stereo, n_fft %d)", path,
                st.channels, (long long)st.bins, F, m->cfg.n_fft);
    else if ((st.n_fft && st.n_fft != m->cfg.n_fft) || (st.hop && st.hop != m->cfg.hop))
        tf_fail(err, len, "%s: statistics of spectrograms with n_fft %d, hop %d; the model expects n_fft %d, hop %d",
                path, st.n_fft, st.hop, m->cfg.n_fft, m->cfg.hop);
    else {
        for (int i = 0; i < TFSWA_IN_CH * F; i++) {
            m->w.norm_mean[i] = st.mean[i];
            m->w.norm_std[i] = st.std[i] > TFSWA_STD_FLOOR ? st.std[i] : TFSWA_STD_FLOOR;
        }
        rc = 0;
    }
    specnorm_free(&st);
    return rc;
}
