/* Human-readable description of a checkpoint (tfswa-net --info). */
#ifndef TFSWA_MODEL_INFO_H
#define TFSWA_MODEL_INFO_H

#include <stdio.h>

#include "model/model.h"
#include "stream/ts.h"

/* Configuration, parameter counts per module, training state present in
 * extra (may be NULL), and FLOPs per second of audio for chunks of chunk_sec. */
void tfswa_print_info(FILE *out, const char *path, const tfswa_model *m, const ts_record *extra, double chunk_sec);

#endif
