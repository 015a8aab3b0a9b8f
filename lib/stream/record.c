/* In-memory records: attributes and tensors, with names checked. */
#include "stream/ts.h"
#include "util/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

size_t ts_dtype_size(ts_dtype d)
{
    switch (d) {
    case TS_F32: return 4;
    case TS_F64: return 8;
    case TS_C64: return 8;
    case TS_C128: return 16;
    case TS_I16: return 2;
    case TS_I32: return 4;
    case TS_I64: return 8;
    case TS_U8: return 1;
    }
    return 0;
}

static const char *const dtype_names[] = {NULL, "f32", "f64", "c64", "c128", "i16", "i32", "i64", "u8"};

const char *ts_dtype_name(ts_dtype d) { return (d >= TS_F32 && d <= TS_U8) ? dtype_names[d] : "?"; }

int ts_dtype_from_name(const char *s)
{
    for (int d = TS_F32; d <= TS_U8; d++)
        if (strcmp(s, dtype_names[d]) == 0)
            return d;
    return -1;
}

int64_t ts_numel(const ts_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->shape[i];
    return n;
}

static int name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-' || c == '+';
}

const char *ts_check_name(const char *name, size_t len)
{
    if (len == 0)
        return "empty name";
    if (len > TS_MAX_NAME)
        return "name longer than 255 bytes";
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || name[i] == '/') {
            size_t part = i - start;
            if (part == 0)
                return "empty path component (leading, trailing or double '/')";
            if ((part == 1 && name[start] == '.') || (part == 2 && name[start] == '.' && name[start + 1] == '.'))
                return "'.' or '..' path component";
            start = i + 1;
        } else if (!name_char((unsigned char)name[i])) {
            return "character outside [A-Za-z0-9_.+-/]";
        }
    }
    return NULL;
}

void ts_record_init(ts_record *r) { memset(r, 0, sizeof *r); }

void ts_record_free(ts_record *r)
{
    for (int i = 0; i < r->n_attrs; i++) {
        free(r->attrs[i].key);
        free(r->attrs[i].value);
    }
    for (int i = 0; i < r->n_tensors; i++) {
        free(r->tensors[i].name);
        free(r->tensors[i].data);
    }
    free(r->attrs);
    free(r->tensors);
    memset(r, 0, sizeof *r);
}

void ts_record_move(ts_record *dst, ts_record *src)
{
    ts_record_free(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

int ts_record_copy(ts_record *dst, const ts_record *src)
{
    ts_record_init(dst);
    for (int i = 0; i < src->n_attrs; i++)
        ts_attr_set(dst, src->attrs[i].key, src->attrs[i].value);
    for (int i = 0; i < src->n_tensors; i++) {
        const ts_tensor *s = &src->tensors[i];
        ts_tensor *d = ts_tensor_add(dst, s->name, s->dtype, s->rank, s->shape);
        if (s->nbytes)
            memcpy(d->data, s->data, s->nbytes);
        d->compress = s->compress;
    }
    return 0;
}

static int attr_index(const ts_record *r, const char *key)
{
    for (int i = 0; i < r->n_attrs; i++)
        if (strcmp(r->attrs[i].key, key) == 0)
            return i;
    return -1;
}

const char *ts_attr_get(const ts_record *r, const char *key)
{
    int i = attr_index(r, key);
    return i < 0 ? NULL : r->attrs[i].value;
}

void ts_attr_set(ts_record *r, const char *key, const char *value)
{
    const char *why = ts_check_name(key, strlen(key));
    if (why)
        tf_die("attribute key '%s': %s", key, why);
    if (strlen(value) > TS_MAX_VALUE)
        tf_die("attribute '%s': value longer than %d bytes", key, TS_MAX_VALUE);
    int i = attr_index(r, key);
    if (i >= 0) {
        char *v = tf_strdup(value);
        free(r->attrs[i].value);
        r->attrs[i].value = v;
        return;
    }
    if (r->n_attrs == TS_MAX_ATTRS)
        tf_die("attribute '%s': more than %d attributes in a record", key, TS_MAX_ATTRS);
    if (r->n_attrs == r->cap_attrs) {
        r->cap_attrs = r->cap_attrs ? 2 * r->cap_attrs : 8;
        r->attrs = tf_realloc(r->attrs, (size_t)r->cap_attrs * sizeof *r->attrs, "attributes");
    }
    r->attrs[r->n_attrs].key = tf_strdup(key);
    r->attrs[r->n_attrs].value = tf_strdup(value);
    r->n_attrs++;
}

void ts_attr_setf(ts_record *r, const char *key, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        tf_die("attribute '%s': cannot format its value", key);
    if ((size_t)n < sizeof small) {
        ts_attr_set(r, key, small);
        return;
    }
    char *buf = tf_malloc((size_t)n + 1, "attribute value");
    va_start(ap, fmt);
    vsnprintf(buf, (size_t)n + 1, fmt, ap);
    va_end(ap);
    ts_attr_set(r, key, buf);
    free(buf);
}

void ts_attr_remove(ts_record *r, const char *key)
{
    int i = attr_index(r, key);
    if (i < 0)
        return;
    free(r->attrs[i].key);
    free(r->attrs[i].value);
    memmove(&r->attrs[i], &r->attrs[i + 1], (size_t)(r->n_attrs - i - 1) * sizeof *r->attrs);
    r->n_attrs--;
}

int ts_attr_get_i64(const ts_record *r, const char *key, int64_t *out)
{
    const char *v = ts_attr_get(r, key);
    if (!v)
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end)
        return -2;
    *out = x;
    return 0;
}

int ts_attr_get_f64(const ts_record *r, const char *key, double *out)
{
    const char *v = ts_attr_get(r, key);
    if (!v)
        return -1;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if ((errno && !(errno == ERANGE && fabs(x) < 1)) || end == v || *end) /* underflow is fine */
        return -2;
    *out = x;
    return 0;
}

static int tensor_index(const ts_record *r, const char *name)
{
    for (int i = 0; i < r->n_tensors; i++)
        if (strcmp(r->tensors[i].name, name) == 0)
            return i;
    return -1;
}

ts_tensor *ts_tensor_get(const ts_record *r, const char *name)
{
    int i = tensor_index(r, name);
    return i < 0 ? NULL : &r->tensors[i];
}

static ts_tensor *tensor_slot(ts_record *r, const char *name, ts_dtype dtype, int rank, const int64_t *shape,
                              size_t *nbytes)
{
    const char *why = ts_check_name(name, strlen(name));
    if (why)
        tf_die("tensor name '%s': %s", name, why);
    if (ts_dtype_size(dtype) == 0)
        tf_die("tensor '%s': unknown dtype %d", name, (int)dtype);
    if (rank < 0 || rank > TS_MAX_RANK)
        tf_die("tensor '%s': rank %d outside [0, %d]", name, rank, TS_MAX_RANK);
    uint64_t n = ts_dtype_size(dtype);
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0 || (uint64_t)shape[i] > TS_MAX_DIM)
            tf_die("tensor '%s': dimension %d is %lld", name, i, (long long)shape[i]);
        if (shape[i] && n > SIZE_MAX / (uint64_t)shape[i])
            tf_die("tensor '%s': too large", name);
        n *= (uint64_t)shape[i];
    }
    *nbytes = (size_t)n;
    int i = tensor_index(r, name);
    if (i >= 0) {
        free(r->tensors[i].data);
        r->tensors[i].data = NULL;
        return &r->tensors[i];
    }
    if (r->n_tensors == TS_MAX_TENSORS)
        tf_die("tensor '%s': more than %d tensors in a record", name, TS_MAX_TENSORS);
    if (r->n_tensors == r->cap_tensors) {
        r->cap_tensors = r->cap_tensors ? 2 * r->cap_tensors : 8;
        r->tensors = tf_realloc(r->tensors, (size_t)r->cap_tensors * sizeof *r->tensors, "tensors");
    }
    ts_tensor *t = &r->tensors[r->n_tensors++];
    memset(t, 0, sizeof *t);
    t->name = tf_strdup(name);
    return t;
}

static void tensor_fill(ts_tensor *t, ts_dtype dtype, int rank, const int64_t *shape, void *data, size_t nbytes)
{
    t->dtype = dtype;
    t->rank = rank;
    memset(t->shape, 0, sizeof t->shape);
    for (int i = 0; i < rank; i++)
        t->shape[i] = shape[i];
    t->data = data;
    t->nbytes = nbytes;
    t->compress = TS_RAW;
}

ts_tensor *ts_tensor_add(ts_record *r, const char *name, ts_dtype dtype, int rank, const int64_t *shape)
{
    size_t nbytes;
    ts_tensor *t = tensor_slot(r, name, dtype, rank, shape, &nbytes);
    void *data = tf_calloc(nbytes, 1, name);
    tensor_fill(t, dtype, rank, shape, data, nbytes);
    return t;
}

ts_tensor *ts_tensor_adopt(ts_record *r, const char *name, ts_dtype dtype, int rank, const int64_t *shape, void *data)
{
    size_t nbytes;
    ts_tensor *t = tensor_slot(r, name, dtype, rank, shape, &nbytes);
    tensor_fill(t, dtype, rank, shape, data, nbytes);
    return t;
}

void ts_tensor_remove(ts_record *r, const char *name)
{
    int i = tensor_index(r, name);
    if (i < 0)
        return;
    free(r->tensors[i].name);
    free(r->tensors[i].data);
    memmove(&r->tensors[i], &r->tensors[i + 1], (size_t)(r->n_tensors - i - 1) * sizeof *r->tensors);
    r->n_tensors--;
}

void ts_tensor_rename(ts_record *r, const char *old_name, const char *new_name)
{
    const char *why = ts_check_name(new_name, strlen(new_name));
    if (why)
        tf_die("tensor name '%s': %s", new_name, why);
    if (strcmp(old_name, new_name) == 0 || tensor_index(r, old_name) < 0)
        return;
    ts_tensor_remove(r, new_name);
    ts_tensor *t = ts_tensor_get(r, old_name);
    free(t->name);
    t->name = tf_strdup(new_name);
}
