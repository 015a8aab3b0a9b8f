/* museval's track evaluation (museval.eval_mus_track) and JSON output on
 * top of bsseval.h: which stems are evaluated together, in which order, and
 * the per-track JSON file (musdb.schema.json, formats/museval.schema.json). */
#ifndef TFSWA_METRICS_MUSEVAL_H
#define TFSWA_METRICS_MUSEVAL_H

#include <stdint.h>

#include "metrics/bsseval.h"

/* Position of a target in musdb's track.targets order (vocals, drums, bass,
 * other, accompaniment, linear_mixture); other names come after, by name. */
int museval_target_rank(const char *name);

typedef struct {
    const char *name;
    const float *ref; /* nchan x nsampl planar */
    const float *est; /* nchan x nsampl planar (already padded/truncated) */
} mus_stem;

enum { MUS_SDR, MUS_SIR, MUS_ISR, MUS_SAR, MUS_NMETRIC };
extern const char *const mus_metric_names[MUS_NMETRIC]; /* "SDR", "SIR", "ISR", "SAR" */

typedef struct {
    char *name;
    int nwin;
    double *v[MUS_NMETRIC]; /* per window */
    double median[MUS_NMETRIC];
    double si_sdr, global_sdr; /* whole track */
    int alone;                 /* evaluated by itself (museval's eval_mus_track would skip it) */
} mus_target;

typedef struct {
    int n;
    mus_target *t; /* in museval's JSON order */
    double win_s, hop_s;
    int used_lstsq;
} mus_track;

/* Evaluates the stems as eval_mus_track does: all stems together, except
 * that when vocals and accompaniment are both present, accompaniment is
 * left out of that group and vocals + accompaniment are evaluated as a
 * second pair (whose vocals scores are the ones kept). A single stem is
 * evaluated alone (flagged). Returns 0 or -1 with err. */
int museval_eval_track(const mus_stem *stems, int n, int nchan, int64_t nsampl, int rate, const bss_params *p,
                       mus_track *out, char *err, size_t errlen);
void mus_track_free(mus_track *t);

/* Writes museval's JSON ({"targets": [{"name", "frames": [{"time",
 * "duration", "metrics": {SDR, SIR, SAR, ISR}}]}]}, values rounded to 5
 * decimals, inf and NaN written as NaN as museval does) atomically to path.
 * Returns 0 or -1 with err. */
int museval_write_json(const char *path, const mus_track *t, char *err, size_t errlen);

#endif
