/* numpy .npy files (format versions 1.0, 2.0, 3.0): little-endian, C or
 * Fortran order (read; Fortran-order data are transposed into C order with
 * npy_fortran_*), the tensor stream's dtypes (<f4 <f8 <c8 <c16 <i2 <i4 <i8 |u1). Used by
 * ts2npy and npy2ts; errors are reasons without the file name (callers add it). */
#ifndef TFSWA_STREAM_NPY_H
#define TFSWA_STREAM_NPY_H

#include "stream/ts.h"

#include <stdint.h>
#include <stdio.h>

typedef struct {
    ts_dtype dtype;
    int rank;
    int64_t shape[TS_MAX_RANK];
    uint64_t nbytes;  /* data bytes the header describes */
    long data_offset; /* bytes from the start of the file to the data */
    int major, minor; /* format version */
    int fortran;      /* data in Fortran order (first index fastest) and not
                             also in C order (more than one dimension above 1) */
} npy_info;

/* The numpy descr of a dtype ("<f4", "|u1", ...); NULL if unknown. */
const char *npy_descr(ts_dtype d);

/* Reads and checks the header of an .npy file from f (at its start) and
 * leaves f at the data. Tensors larger than max_bytes are refused before
 * anything is allocated. Returns 0, or -1 with a reason in err. */
int npy_read_header(FILE *f, npy_info *h, uint64_t max_bytes, char *err, size_t errlen);

/* Parses the header dictionary text (for tests). Same conventions. */
int npy_parse_dict(const char *text, size_t n, npy_info *h, uint64_t max_bytes, char *err, size_t errlen);

/* Transposes Fortran-order data into C order, in pieces: the source is
 * consumed in order, a piece at a time, each piece scattered to its place in
 * the destination (which holds the whole tensor). */
typedef struct {
    size_t esize; /* bytes per element */
    int rank;
    int64_t shape[TS_MAX_RANK];
    int64_t stride[TS_MAX_RANK]; /* C-order strides in elements */
    int64_t idx[TS_MAX_RANK];    /* index of the next source element */
    uint64_t off;                /* its C-order offset in elements */
} npy_fortran;

void npy_fortran_init(npy_fortran *t, size_t esize, int rank, const int64_t *shape);
/* Scatters the next nbytes of Fortran-order data (a whole number of
 * elements, not beyond the tensor's end) from src into dst. */
void npy_fortran_put(npy_fortran *t, void *dst, const void *src, size_t nbytes);

/* Writes an .npy header (version 1.0; 64-byte aligned data, as numpy
 * does). Returns 0 or -1 with errno set. */
int npy_write_header(FILE *f, ts_dtype dtype, int rank, const int64_t *shape);

#endif
