/* Progress on stderr for long work: a redrawn bar when stderr is a
 * terminal, otherwise a plain line at most every few seconds (so logs stay
 * readable). Quiet when disabled (--quiet). */
#ifndef TFSWA_UTIL_PROGRESS_H
#define TFSWA_UTIL_PROGRESS_H

typedef struct {
    const char *label;
    const char *unit;
    double total; /* 0 = unknown */
    double start, last_print;
    int tty, enabled, printed;
} tf_progress;

void tf_progress_init(tf_progress *p, const char *label, double total, const char *unit, int enabled);
/* done: units completed; extra: optional text appended (e.g. "loss 0.123"). */
void tf_progress_update(tf_progress *p, double done, const char *extra);
void tf_progress_done(tf_progress *p, double done, const char *extra);
double tf_now(void); /* monotonic seconds */

#endif
