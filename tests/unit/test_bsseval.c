/* BSSEval v4 on hand-computable cases (museval's numbers for real signals
 * are checked by tests/sh/sdr_museval.sh against tests/data/bsseval). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics/bsseval.h"
#include "metrics/museval.h"
#include "util/rng.h"

enum { RATE = 8000, NCH = 2 };

static float *noise(tf_rng *r, int64_t n, double sd)
{
    float *x = malloc(sizeof(float) * (size_t)n * NCH);
    for (int64_t i = 0; i < n * NCH; i++)
        x[i] = (float)(sd * tf_rng_normal(r));
    return x;
}

static bss_params params(void)
{
    bss_params p;
    bss_params_default(&p, RATE);
    p.filt_len = 64; /* same algorithm, smaller matrices: quick tests */
    p.threads = 1;
    return p;
}

int main(void)
{
    tf_rng r;
    tf_rng_seed(&r, 42);
    char err[256];
    const int64_t n = 3 * RATE + 1000; /* 3 windows, a partial one dropped */

    /* window count and framing as museval */
    CHECK(bss_nwin(141120, 44100, 44100) == 3, "nwin 3.2 s");
    CHECK(bss_nwin(44100, 44100, 44100) == 1 && bss_nwin(1000, 44100, 44100) == 1, "nwin short");
    CHECK(bss_nwin(88200, 44100, 22050) == 3, "nwin overlap");

    /* pad_or_truncate */
    {
        float e[6] = {1, 2, 3, 4, 5, 6}; /* 2 ch x 3 */
        float *a = bss_pad_or_truncate(e, 2, 3, 5), *b = bss_pad_or_truncate(e, 2, 3, 2);
        CHECK(a[0] == 1 && a[2] == 3 && a[3] == 0 && a[4] == 0 && a[5] == 4 && a[7] == 6 && a[9] == 0, "pad");
        CHECK(b[0] == 1 && b[1] == 2 && b[2] == 4 && b[3] == 5, "truncate");
        free(a);
        free(b);
    }
    /* median skips NaN and inf */
    {
        double v[6] = {3, NAN, 1, INFINITY, 2, 10};
        CHECK(bss_median(v, 6) == 2.5, "median %g", bss_median(v, 6));
        double w[2] = {NAN, -INFINITY};
        CHECK(isnan(bss_median(w, 2)), "median of nothing");
    }

    float *s0 = noise(&r, n, 0.3), *s1 = noise(&r, n, 0.2);
    const float *ref[2] = {s0, s1};
    bss_params p = params();

    /* a scaled copy: SDR = ISR = 20 log10(1 / |1 - g|), interference and
     * artifacts vanish (SIR, SAR very large) */
    {
        float *e0 = malloc(sizeof(float) * (size_t)n * NCH), *e1 = malloc(sizeof(float) * (size_t)n * NCH);
        for (int64_t i = 0; i < n * NCH; i++) {
            e0[i] = 0.5f * s0[i];
            e1[i] = 2.0f * s1[i];
        }
        const float *est[2] = {e0, e1};
        bss_result res;
        CHECK(bsseval_v4(ref, est, 2, NCH, n, &p, &res, err, sizeof err) == 0, "%s", err);
        CHECK(res.nwin == 3 && res.nsrc == 2, "shape %d %d", res.nsrc, res.nwin);
        for (int w = 0; w < res.nwin; w++) {
            CHECK_CLOSE(res.sdr[w], 20 * log10(2.0), 1e-6, 0, "scaled 0.5: SDR");
            CHECK_CLOSE(res.isr[w], 20 * log10(2.0), 1e-4, 0, "scaled 0.5: ISR");
            CHECK_CLOSE(res.sdr[3 + w], 0.0, 1e-6, 0, "scaled 2: SDR");
            CHECK(res.sir[w] > 100 && res.sar[w] > 100 && res.sir[3 + w] > 100 && res.sar[3 + w] > 100,
                  "scaled: SIR %g SAR %g", res.sir[w], res.sar[w]);
        }
        bss_result_free(&res);
        free(e0);
        free(e1);
    }

    /* independent white noise at a known power: SDR and SAR close to the
     * SNR, SIR large, ISR large */
    {
        const double snr_db = 10.0;
        float *e0 = noise(&r, n, 0.3 * pow(10, -snr_db / 20)), *e1 = noise(&r, n, 0.2 * pow(10, -snr_db / 20));
        for (int64_t i = 0; i < n * NCH; i++) {
            e0[i] += s0[i];
            e1[i] += s1[i];
        }
        const float *est[2] = {e0, e1};
        bss_result res;
        CHECK(bsseval_v4(ref, est, 2, NCH, n, &p, &res, err, sizeof err) == 0, "%s", err);
        for (int i = 0; i < 2 * res.nwin; i++) {
            CHECK_CLOSE(res.sdr[i], snr_db, 0.15, 0, "noise: SDR");
            CHECK_CLOSE(res.sar[i], snr_db, 0.25, 0, "noise: SAR");
            CHECK(res.sir[i] > 25 && res.isr[i] > 25, "noise: SIR %g ISR %g", res.sir[i], res.isr[i]);
        }
        /* threads change nothing but the order of additions */
        bss_params p2 = p;
        p2.threads = 2;
        bss_result res2;
        CHECK(bsseval_v4(ref, est, 2, NCH, n, &p2, &res2, err, sizeof err) == 0, "%s", err);
        for (int i = 0; i < 2 * res.nwin; i++) {
            CHECK_CLOSE(res2.sdr[i], res.sdr[i], 1e-9, 0, "threads: SDR");
            CHECK_CLOSE(res2.sir[i], res.sir[i], 1e-6, 0, "threads: SIR");
            CHECK_CLOSE(res2.isr[i], res.isr[i], 1e-6, 0, "threads: ISR");
            CHECK_CLOSE(res2.sar[i], res.sar[i], 1e-6, 0, "threads: SAR");
        }
        bss_result_free(&res2);
        /* SI-SDR and the MDX global SDR on the whole track */
        double si = metric_si_sdr(s0, e0, (size_t)n * NCH), g = metric_global_sdr(s0, e0, (size_t)n * NCH);
        CHECK_CLOSE(si, snr_db, 0.1, 0, "SI-SDR");
        CHECK_CLOSE(g, snr_db, 0.1, 0, "global SDR");

        /* a window where one reference is silent: NaN for every source;
         * the same where an estimate is silent */
        float *z = malloc(sizeof(float) * (size_t)n * NCH);
        memcpy(z, s1, sizeof(float) * (size_t)n * NCH);
        for (int c = 0; c < NCH; c++)
            for (int64_t i = RATE; i < 2 * RATE; i++)
                z[c * n + i] = 0;
        const float *ref2[2] = {s0, z};
        CHECK(bsseval_v4(ref2, est, 2, NCH, n, &p, &res2, err, sizeof err) == 0, "%s", err);
        CHECK(isnan(res2.sdr[1]) && isnan(res2.sir[1]) && isnan(res2.isr[1]) && isnan(res2.sar[1]) &&
                  isnan(res2.sdr[4]) && isnan(res2.sar[4]),
              "silent reference window: NaN everywhere");
        CHECK(!isnan(res2.sdr[0]) && !isnan(res2.sdr[2]) && !isnan(res2.sdr[3]), "other windows scored");
        bss_result_free(&res2);
        /* channels that cancel count as silent (museval sums the channels) */
        for (int64_t i = RATE; i < 2 * RATE; i++)
            z[n + i] = -(z[i] = s1[i]);
        CHECK(bsseval_v4(ref2, est, 2, NCH, n, &p, &res2, err, sizeof err) == 0, "%s", err);
        CHECK(isnan(res2.sdr[1]), "L = -R window is silent for museval");
        bss_result_free(&res2);
        const float *est2[2] = {e0, z};
        CHECK(bsseval_v4(ref, est2, 2, NCH, n, &p, &res2, err, sizeof err) == 0, "%s", err);
        CHECK(isnan(res2.sdr[1]) && isnan(res2.sar[4]) && !isnan(res2.sdr[0]), "silent estimate window: NaN");
        bss_result_free(&res2);
        /* a reference silent over the whole track is refused, as museval */
        memset(z, 0, sizeof(float) * (size_t)n * NCH);
        CHECK(bsseval_v4(ref2, est, 2, NCH, n, &p, &res2, err, sizeof err) == -1 && strstr(err, "silent"),
              "silent reference refused");
        free(z);

        /* museval's grouping: vocals + accompaniment are a separate pair */
        mus_stem st[3] = {{"accompaniment", s1, e1}, {"vocals", s0, e0}, {"drums", s1, e1}};
        mus_track t;
        CHECK(museval_eval_track(st, 3, NCH, n, RATE, &p, &t, err, sizeof err) == 0, "%s", err);
        CHECK(t.n == 3 && !strcmp(t.t[0].name, "drums") && !strcmp(t.t[1].name, "vocals") &&
                  !strcmp(t.t[2].name, "accompaniment"),
              "target order");
        bss_result res3;
        const float *pr[2] = {s0, s1}, *pe[2] = {e0, e1};
        CHECK(bsseval_v4(pr, pe, 2, NCH, n, &p, &res3, err, sizeof err) == 0, "%s", err);
        for (int w = 0; w < 3; w++)
            CHECK_CLOSE(t.t[1].v[MUS_SIR][w], res3.sir[w], 1e-9, 0, "vocals from the pair");
        bss_result_free(&res3);
        mus_track_free(&t);
        mus_stem one[1] = {{"bass", s0, e0}};
        CHECK(museval_eval_track(one, 1, NCH, n, RATE, &p, &t, err, sizeof err) == 0 && t.n == 1 && t.t[0].alone,
              "single stem scored alone");
        mus_track_free(&t);
        bss_result_free(&res);
        free(e0);
        free(e1);
    }

    /* signals shorter than the window and than a correlation block */
    {
        int64_t m = 300;
        bss_result res;
        const float *est[2] = {s1, s0};
        CHECK(bsseval_v4(ref, est, 2, NCH, m, &p, &res, err, sizeof err) == 0 && res.nwin == 1, "short: %s", err);
        bss_result_free(&res);
    }
    free(s0);
    free(s1);
    return check_report("test_bsseval");
}
