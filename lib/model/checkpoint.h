/* The tfswa checkpoint: one tensor-stream record holding the configuration
 * (attributes), every tensor of the model by name, and whatever training
 * state the trainer adds (tensors under optim/ and train/, extra attributes).
 * Specification: formats/checkpoint.md, man tfswa-checkpoint(5).
 *
 * Errors: functions return 0, or -1 with a message "FILE: what" (naming the
 * tensor or attribute) in err. */
#ifndef TFSWA_MODEL_CHECKPOINT_H
#define TFSWA_MODEL_CHECKPOINT_H

#include <stddef.h>

#include "model/model.h"
#include "stream/ts.h"

#define TFSWA_CKPT_FORMAT "tfswa-checkpoint"
#define TFSWA_CKPT_VERSION 1

/* Attributes <-> configuration. */
void tfswa_config_to_attrs(const tfswa_config *c, ts_record *r);
int tfswa_config_from_attrs(tfswa_config *c, const ts_record *r, char *err, size_t len);
/* True for attribute keys that belong to the configuration / format identity. */
int tfswa_is_config_attr(const char *key);

/* Writes m atomically (temporary file, fsync, rename) to path. extra (may be
 * NULL): tensors (names under optim/ or train/) and attributes (not
 * configuration keys) written along, for the trainer. */
int tfswa_ckpt_save(const char *path, const tfswa_model *m, const ts_record *extra, char *err, size_t len);

/* Reads and validates path into m (allocated here; free with
 * tfswa_model_free). Checks: one record and a clean end, format identity
 * and version, a valid configuration, every tensor present as f32 with its
 * exact shape, finite values, norm.std > 0, BN running_var >= 0, no unknown
 * tensors outside optim/ and train/. extra (may be NULL; freed first)
 * receives the optim/ and train/ tensors and the non-configuration attributes. */
int tfswa_ckpt_load(const char *path, tfswa_model *m, ts_record *extra, char *err, size_t len);

/* Loads per-bin input statistics into m (norm.mean, norm.std) from a
 * specnorm file (formats/spec-stats.md): tensors `mean` and `std` (4, F),
 * channels re L, im L, re R, im R, for the model's F (and n_fft, hop when
 * the file records them). A std below TFSWA_STD_FLOOR (the imaginary parts
 * of the DC and Nyquist bins are exactly 0) is stored as TFSWA_STD_FLOOR. */
#define TFSWA_STD_FLOOR 1e-5f
int tfswa_load_stats(const char *path, tfswa_model *m, char *err, size_t len);

#endif
