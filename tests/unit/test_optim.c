/* AdamW, clipping against PyTorch 1.13 golden vectors
 * (tests/data/optim/make_golden.py); the schedule against its definition. */
#include "check.h"
#include "train/optim.h"

#include <stdlib.h>
#include <string.h>

#define MAXV 64

typedef struct {
    char name[32];
    int n;
    float v[MAXV];
} vec;

static vec vecs[32];
static int nvecs;

static const vec *get(const char *name)
{
    for (int i = 0; i < nvecs; i++)
        if (strcmp(vecs[i].name, name) == 0)
            return &vecs[i];
    fprintf(stderr, "golden vector %s missing\n", name);
    exit(1);
}

static void load(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    while (nvecs < 32 && fscanf(f, "%31s %d", vecs[nvecs].name, &vecs[nvecs].n) == 2) {
        if (vecs[nvecs].n > MAXV)
            exit(1);
        for (int i = 0; i < vecs[nvecs].n; i++)
            if (fscanf(f, "%f", &vecs[nvecs].v[i]) != 1)
                exit(1);
        nvecs++;
    }
    fclose(f);
}

int main(void)
{
    const char *top = getenv("TOP");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/optim/golden.txt", top ? top : ".");
    load(path);

    const vec *p0 = get("p0"), *lr = get("lr");
    int n = p0->n;
    float p[MAXV], m[MAXV] = {0}, v[MAXV] = {0};
    memcpy(p, p0->v, sizeof(float) * (size_t)n);
    adamw_config cfg = adamw_defaults(1e-3f);
    for (int s = 0; s < 6; s++) {
        char gname[16], pname[16];
        snprintf(gname, sizeof gname, "g%d", s);
        snprintf(pname, sizeof pname, "p%d", s + 1);
        adamw_step(p, get(gname)->v, m, v, (size_t)n, s + 1, lr->v[s], &cfg, NULL);
        const vec *want = get(pname);
        for (int i = 0; i < n; i++)
            CHECK_CLOSE(p[i], want->v[i], 1e-7, 2e-6, pname);
    }
    for (int i = 0; i < n; i++) {
        CHECK_CLOSE(m[i], get("m")->v[i], 1e-8, 1e-5, "exp_avg");
        CHECK_CLOSE(v[i], get("v")->v[i], 1e-10, 1e-5, "exp_avg_sq");
    }

    /* A decay mask of zeros: no weight decay, so equal to AdamW with wd 0. */
    float a[4] = {1, -2, 3, -4}, b[4] = {1, -2, 3, -4}, g[4] = {0.5f, 0.1f, -0.3f, 2};
    float ma[4] = {0}, va[4] = {0}, mb[4] = {0}, vb[4] = {0};
    uint8_t mask[4] = {0, 0, 0, 0};
    adamw_config nowd = cfg;
    nowd.weight_decay = 0;
    adamw_step(a, g, ma, va, 4, 1, 0.1f, &cfg, mask);
    adamw_step(b, g, mb, vb, 4, 1, 0.1f, &nowd, NULL);
    for (int i = 0; i < 4; i++)
        CHECK(a[i] == b[i], "masked decay %d: %g vs %g", i, a[i], b[i]);
    CHECK(a[0] != 1.0f, "parameter did not move");

    /* Clipping. */
    float gc[MAXV];
    memcpy(gc, get("g3")->v, sizeof(float) * (size_t)n);
    double norm = grad_clip_global_norm(gc, (size_t)n, 1.5);
    CHECK_CLOSE(norm, get("clip_norm")->v[0], 0, 1e-6, "norm before clipping");
    for (int i = 0; i < n; i++)
        CHECK_CLOSE(gc[i], get("clipped")->v[i], 1e-8, 1e-6, "clipped gradient");
    CHECK_CLOSE(grad_global_norm(gc, (size_t)n), 1.5, 0, 1e-5, "norm after clipping");
    memcpy(gc, get("g3")->v, sizeof(float) * (size_t)n);
    grad_clip_global_norm(gc, (size_t)n, 1e9);
    CHECK(memcmp(gc, get("g3")->v, sizeof(float) * (size_t)n) == 0, "no clipping below the threshold");

    /* Schedule: warm-up ramps linearly, cosine ends at min_lr, halfway is the mean. */
    double base = 3e-4, lo = 1e-6;
    CHECK_CLOSE(lr_cosine_warmup(0, 1000, 100, base, lo), base / 100, 0, 1e-12, "first warm-up step");
    CHECK_CLOSE(lr_cosine_warmup(49, 1000, 100, base, lo), base / 2, 0, 1e-12, "mid warm-up");
    CHECK_CLOSE(lr_cosine_warmup(100, 1000, 100, base, lo), base, 0, 1e-12, "end of warm-up");
    CHECK_CLOSE(lr_cosine_warmup(550, 1000, 100, base, lo), (base + lo) / 2, 0, 1e-12, "cosine midpoint");
    CHECK_CLOSE(lr_cosine_warmup(1000, 1000, 100, base, lo), lo, 0, 1e-12, "end");
    CHECK_CLOSE(lr_cosine_warmup(5000, 1000, 100, base, lo), lo, 0, 1e-12, "past the end");
    double prev = 1;
    int mono = 1;
    for (int s = 100; s <= 1000; s++) {
        double l = lr_cosine_warmup(s, 1000, 100, base, lo);
        if (l > prev)
            mono = 0;
        prev = l;
    }
    CHECK(mono, "cosine part not monotone");
    CHECK_CLOSE(lr_cosine_warmup(10, 1000, 0, base, lo), lo + 0.5 * (base - lo) * (1 + cos(M_PI * 0.01)), 0, 1e-12,
                "no warm-up");
    return check_report("test_optim");
}
