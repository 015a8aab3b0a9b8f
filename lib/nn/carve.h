/* Buffer layouts defined once (as llm.c's train_gpt2.c points its one
 * allocation): a layout is a function that asks a carve for each buffer in
 * turn. Run on a carve without a base it only counts (the size to allocate);
 * run again on a carve over the allocation it hands out the pointers, so the
 * size and the pointers cannot drift apart.
 *
 *   carve c = carve_begin(NULL);
 *   my_layout(&bufs, &c, ...);            sizes only, pointers NULL
 *   void *mem = malloc(carve_bytes(&c));
 *   c = carve_begin(mem);
 *   my_layout(&bufs, &c, ...);            the pointers
 *
 * Every buffer starts on a CARVE_ALIGN-byte boundary (a cache line: whole
 * vectors for the kernels); carve_bytes includes the room to align any base.
 * Buffers that live at different times can share memory: the branches of a
 * carve_union start at the same offset and the union is as long as the
 * longest. Header-only (lib/nn's kernel files may define no global data). */
#ifndef TFSWA_NN_CARVE_H
#define TFSWA_NN_CARVE_H

#include <stddef.h>
#include <stdint.h>

#define CARVE_ALIGN 64

typedef struct {
    char *base; /* NULL: count only */
    size_t off; /* bytes handed out so far */
} carve;

/* A carve over base (aligned up to CARVE_ALIGN), or a counting one (NULL). */
static inline carve carve_begin(void *base)
{
    carve c = {NULL, 0};
    if (base)
        c.base = (char *)(((uintptr_t)base + CARVE_ALIGN - 1) & ~(uintptr_t)(CARVE_ALIGN - 1));
    return c;
}

/* The next n bytes (NULL while counting). */
static inline void *carve_take(carve *c, size_t n)
{
    size_t at = c->off;
    c->off += (n + CARVE_ALIGN - 1) / CARVE_ALIGN * CARVE_ALIGN;
    return c->base ? c->base + at : NULL;
}

/* The next n floats (NULL while counting). */
static inline float *carve_floats(carve *c, size_t n) { return (float *)carve_take(c, n * sizeof(float)); }

/* Bytes to allocate for what was carved, with room to align the base. */
static inline size_t carve_bytes(const carve *c) { return c->off + CARVE_ALIGN; }

/* Floats to allocate (carve_bytes rounded up to whole floats). */
static inline size_t carve_floats_total(const carve *c) { return (carve_bytes(c) + sizeof(float) - 1) / sizeof(float); }

/* Branches that share memory: carve branch 1, carve_union_next, branch 2,
 * ..., carve_union_end. */
typedef struct {
    size_t start, end;
} carve_union;

static inline carve_union carve_union_begin(const carve *c)
{
    carve_union u = {c->off, c->off};
    return u;
}

static inline void carve_union_next(carve *c, carve_union *u)
{
    if (c->off > u->end)
        u->end = c->off;
    c->off = u->start;
}

static inline void carve_union_end(carve *c, carve_union *u)
{
    carve_union_next(c, u);
    c->off = u->end;
}

#endif
