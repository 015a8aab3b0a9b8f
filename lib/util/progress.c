#include "util/progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double tf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void tf_progress_init(tf_progress *p, const char *label, double total, const char *unit, int enabled)
{
    memset(p, 0, sizeof *p);
    p->label = label;
    p->unit = unit ? unit : "";
    p->total = total;
    p->start = p->last_print = tf_now();
    p->tty = isatty(2);
    p->enabled = enabled;
}

static void fmt_time(char *buf, size_t n, double s)
{
    if (s < 0 || s > 1e7) {
        snprintf(buf, n, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%02ld:%02ld", t / 60, t % 60);
}

static void draw(tf_progress *p, double done, const char *extra, int final)
{
    double now = tf_now(), el = now - p->start;
    double rate = el > 0 ? done / el : 0;
    char elapsed[32], eta[32];
    fmt_time(elapsed, sizeof elapsed, el);
    fmt_time(eta, sizeof eta, p->total > 0 && rate > 0 ? (p->total - done) / rate : -1);
    if (p->tty) {
        char bar[32] = "";
        if (p->total > 0) {
            int w = 24, k = (int)(w * (done / p->total));
            if (k > w)
                k = w;
            if (k < 0)
                k = 0;
            for (int i = 0; i < w; i++)
                bar[i] = i < k ? '#' : '.';
            bar[w] = 0;
            fprintf(stderr, "\r%s [%s] %.0f/%.0f %s %.3g %s/s %s<%s %s\033[K", p->label, bar, done, p->total, p->unit,
                    rate, p->unit, elapsed, eta, extra ? extra : "");
        } else {
            fprintf(stderr, "\r%s %.0f %s %.3g %s/s %s %s\033[K", p->label, done, p->unit, rate, p->unit, elapsed,
                    extra ? extra : "");
        }
        if (final)
            fputc('\n', stderr);
    } else {
        if (p->total > 0)
            fprintf(stderr, "%s: %.0f/%.0f %s (%.0f%%), %.3g %s/s, elapsed %s, eta %s%s%s\n", p->label, done, p->total,
                    p->unit, 100.0 * done / p->total, rate, p->unit, elapsed, eta, extra ? ", " : "",
                    extra ? extra : "");
        else
            fprintf(stderr, "%s: %.0f %s, %.3g %s/s, elapsed %s%s%s\n", p->label, done, p->unit, rate, p->unit, elapsed,
                    extra ? ", " : "", extra ? extra : "");
    }
    p->last_print = now;
    p->printed = 1;
}

void tf_progress_update(tf_progress *p, double done, const char *extra)
{
    if (!p->enabled)
        return;
    double now = tf_now();
    if (now - p->last_print < (p->tty ? 0.2 : 5.0))
        return;
    draw(p, done, extra, 0);
}

void tf_progress_done(tf_progress *p, double done, const char *extra)
{
    if (!p->enabled || (!p->printed && !p->tty && tf_now() - p->start < 1.0))
        return;
    draw(p, done, extra, 1);
}
