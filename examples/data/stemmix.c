/* stemmix: turn four stem renders into one MUSDB18-HQ track folder.
 *
 *   stemmix [--seconds S] [--fade MS] [--peak P] OUTDIR DRUMS BASS OTHER VOCALS
 *
 * Inputs: the renders of one song's four roles (any format libsndfile reads,
 * 44.1 kHz stereo; fluidsynth's float WAV). Output: OUTDIR/{drums,bass,other,
 * vocals}.wav and OUTDIR/mixture.wav, 16-bit PCM, 44.1 kHz stereo, with
 *
 *     mixture[i] = drums[i] + bass[i] + other[i] + vocals[i]    exactly,
 *
 * as 16-bit integers (the gain leaves headroom so the integer sum never
 * clips; checked). Every int16 sample is k/32768, exactly representable in
 * float32, and the sum of four of them is exact too, so a reader that loads
 * the WAVs as float (libsndfile's default scaling) also gets a mixture that
 * is exactly the sum of the stems.
 *
 * Processing, all deterministic (no dither, no random numbers):
 *  1. excerpt: the window of S seconds (default 30), on a whole-second grid,
 *     where most stems are active (per-second RMS above -30 dB of that stem's
 *     loudest second; vocals count double), the earliest on ties; S = 0
 *     takes the whole song (as long as the longest render);
 *  2. levels (RMS over the excerpt): drums and bass brought within
 *     [-10, 0] dB of "other", then vocals within [-6, 0] dB of the
 *     accompaniment (drums+bass+other); a stem already there is untouched;
 *  3. fades: raised-cosine fade-in and fade-out of MS milliseconds (default 20);
 *  4. gain: one gain for the song, so that the float mixture peaks at P of
 *     full scale (default 0.89, about -1 dBFS), lowered if a stem would peak
 *     above 0.99;
 *  5. rounding of each stem to 16 bits, then the integer sum.
 * Files are written under temporary names and renamed; mixture.wav last, so
 * its presence means the track is complete. The report on stderr gives the
 * gains and, per stem, the share of the excerpt's seconds where it is active
 * (the rule of step 1). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sndfile.h>

enum { DRUMS, BASS, OTHER, VOCALS, NSTEMS };
static const char *stem_name[NSTEMS] = { "drums", "bass", "other", "vocals" };
#define RATE 44100

static _Noreturn void die(const char *where, const char *what)
{
    fprintf(stderr, "stemmix: %s: %s\n", where, what);
    exit(1);
}

static float *read_stereo(const char *path, long *frames)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) die(path, sf_strerror(NULL));
    if (info.samplerate != RATE) die(path, "sample rate is not 44100 Hz");
    if (info.channels != 2) die(path, "not stereo");
    if (info.frames <= 0 || info.frames > 3600L * RATE) die(path, "empty or longer than an hour");
    float *x = malloc((size_t)info.frames * 2 * sizeof *x);
    if (!x) die(path, "out of memory");
    sf_count_t got = sf_readf_float(f, x, info.frames);
    if (got != info.frames) die(path, "short read");
    sf_close(f);
    *frames = (long)info.frames;
    return x;
}

static void write_pcm16(const char *dir, const char *name, const short *x, long frames)
{
    char path[4096], tmp[4200];
    if (snprintf(path, sizeof path, "%s/%s.wav", dir, name) >= (int)sizeof path) die(dir, "name too long");
    snprintf(tmp, sizeof tmp, "%s/.%s.wav.tmp", dir, name);
    SF_INFO info = { .samplerate = RATE, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
    SNDFILE *f = sf_open(tmp, SFM_WRITE, &info);
    if (!f) die(tmp, sf_strerror(NULL));
    if (sf_writef_short(f, x, frames) != frames) die(tmp, sf_strerror(f));
    if (sf_close(f) != 0) die(tmp, "cannot close");
    if (rename(tmp, path) != 0) die(path, strerror(errno));
}

static double parse(const char *opt, const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !(v >= lo && v <= hi)) {
        fprintf(stderr, "stemmix: %s: '%s' is not a number in [%g, %g]\n", opt, s, lo, hi);
        exit(2);
    }
    return v;
}

/* the gain that brings an RMS ratio into [lo, hi] (1 when it already is) */
static double level(double ratio, double lo, double hi)
{
    return ratio < lo ? lo / ratio : ratio > hi ? hi / ratio : 1.0;
}

int main(int argc, char **argv)
{
    double seconds = 30, fade_ms = 20, peak = 0.89;
    int a = 1;
    for (; a + 1 < argc && argv[a][0] == '-'; a += 2) {
        if (!strcmp(argv[a], "--seconds")) {
            seconds = parse(argv[a], argv[a + 1], 0, 3600);
            if (seconds > 0 && seconds < 1) {
                fprintf(stderr, "stemmix: --seconds: '%s' is neither 0 (the whole song) nor in [1, 3600]\n", argv[a + 1]);
                return 2;
            }
        }
        else if (!strcmp(argv[a], "--fade")) fade_ms = parse(argv[a], argv[a + 1], 0, 1000);
        else if (!strcmp(argv[a], "--peak")) peak = parse(argv[a], argv[a + 1], 0.01, 0.95);
        else break;
    }
    if (a < argc && (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h"))) {
        printf("Usage: stemmix [--seconds S] [--fade MS] [--peak P] OUTDIR DRUMS BASS OTHER VOCALS\n"
               "Cut, level and quantise four stem renders into OUTDIR/{drums,bass,other,vocals,mixture}.wav\n"
               "(16-bit, mixture = exact integer sum of the stems).\n"
               "  --seconds S   excerpt length (default 30; 0: the whole song)\n"
               "  --fade MS     fade-in/out length in ms (default 20)\n"
               "  --peak P      mixture peak, fraction of full scale (default 0.89)\n");
        return 0;
    }
    if (argc - a != 1 + NSTEMS) {
        fprintf(stderr, "stemmix: expected OUTDIR DRUMS BASS OTHER VOCALS\nTry 'stemmix --help'.\n");
        return 2;
    }
    const char *outdir = argv[a];
    float *in[NSTEMS];
    long len[NSTEMS], total = 0;
    for (int s = 0; s < NSTEMS; s++) {
        in[s] = read_stereo(argv[a + 1 + s], &len[s]);
        if (len[s] > total) total = len[s];
    }
    long win = seconds > 0 ? (long)(seconds * RATE + 0.5) : total;
    long nsec = total / RATE;
    if (win > total) die(argv[a + 1], "song shorter than the excerpt");

    /* 1. per-second RMS and the excerpt window */
    double *rms = calloc((size_t)NSTEMS * (size_t)(nsec + 1), sizeof *rms);
    if (!rms) die(outdir, "out of memory");
    double maxrms[NSTEMS] = { 0 };
    for (int s = 0; s < NSTEMS; s++)
        for (long k = 0; k < nsec; k++) {
            double acc = 0;
            for (long i = k * RATE; i < (k + 1) * RATE && i < len[s]; i++)
                acc += (double)in[s][2 * i] * in[s][2 * i] + (double)in[s][2 * i + 1] * in[s][2 * i + 1];
            rms[s * (nsec + 1) + k] = sqrt(acc / (2.0 * RATE));
            if (rms[s * (nsec + 1) + k] > maxrms[s]) maxrms[s] = rms[s * (nsec + 1) + k];
        }
    long wsec = (win + RATE - 1) / RATE, best_start = 0, best = -1;
    for (long st = 0; st * RATE + win <= total; st++) {
        long score = 0;
        for (long k = st; k < st + wsec && k < nsec; k++)
            for (int s = 0; s < NSTEMS; s++)
                if (maxrms[s] > 0 && rms[s * (nsec + 1) + k] > maxrms[s] * 0.0316)
                    score += s == VOCALS ? 2 : 1;
        if (score > best) { best = score; best_start = st; }
    }
    long active[NSTEMS] = { 0 }, counted = 0;   /* whole seconds of the excerpt */
    for (long k = best_start; k < best_start + wsec && k < nsec; k++, counted++)
        for (int s = 0; s < NSTEMS; s++)
            active[s] += maxrms[s] > 0 && rms[s * (nsec + 1) + k] > maxrms[s] * 0.0316;
    if (!counted) counted = 1;
    free(rms);
    long off = best_start * RATE;

    /* 2.-3. excerpt (zeros past a render's end), vocal level, fades */
    double *x[NSTEMS];
    for (int s = 0; s < NSTEMS; s++) {
        x[s] = malloc((size_t)win * 2 * sizeof *x[s]);
        if (!x[s]) die(outdir, "out of memory");
        for (long i = 0; i < win; i++)
            for (int c = 0; c < 2; c++)
                x[s][2 * i + c] = off + i < len[s] ? in[s][2 * (off + i) + c] : 0.0;
        free(in[s]);
    }
    /* stem levels: drums and bass within [-10, 0] dB of "other", then the
     * vocals within [-6, 0] dB of the accompaniment (drums+bass+other) */
    double vgain = 1, gains[NSTEMS] = { 1, 1, 1, 1 };
    double eo = 0;
    for (long i = 0; i < 2 * win; i++) eo += x[OTHER][i] * x[OTHER][i];
    if (eo <= 0) die(argv[a + 1 + OTHER], "\"other\" is silent in the excerpt");
    for (int s = DRUMS; s <= BASS; s++) {
        double e = 0;
        for (long i = 0; i < 2 * win; i++) e += x[s][i] * x[s][i];
        if (e <= 0) die(argv[a + 1 + s], "the stem is silent in the excerpt");
        gains[s] = level(sqrt(e / eo), 0.316, 1.0);
        for (long i = 0; i < 2 * win; i++) x[s][i] *= gains[s];
    }
    double ev = 0, ea = 0;
    for (long i = 0; i < 2 * win; i++) {
        double acc = x[DRUMS][i] + x[BASS][i] + x[OTHER][i];
        ev += x[VOCALS][i] * x[VOCALS][i];
        ea += acc * acc;
    }
    if (ev <= 0) die(argv[a + 1 + VOCALS], "the vocals are silent in the excerpt");
    vgain = gains[VOCALS] = level(sqrt(ev / ea), 0.5, 1.0);
    for (long i = 0; i < 2 * win; i++) x[VOCALS][i] *= vgain;
    long nfade = (long)(fade_ms * 1e-3 * RATE + 0.5);
    if (2 * nfade > win) nfade = win / 2;
    for (long i = 0; i < nfade; i++) {
        double g = 0.5 - 0.5 * cos(3.14159265358979323846 * (i + 0.5) / nfade);
        for (int s = 0; s < NSTEMS; s++)
            for (int c = 0; c < 2; c++) {
                x[s][2 * i + c] *= g;
                x[s][2 * (win - 1 - i) + c] *= g;
            }
    }

    /* 4. one gain for the song */
    double mpeak = 0, speak = 0;
    for (long i = 0; i < 2 * win; i++) {
        double m = 0;
        for (int s = 0; s < NSTEMS; s++) {
            m += x[s][i];
            if (fabs(x[s][i]) > speak) speak = fabs(x[s][i]);
        }
        if (fabs(m) > mpeak) mpeak = fabs(m);
    }
    double gain = peak / mpeak;
    if (gain * speak > 0.99) gain = 0.99 / speak;

    /* 5. quantise the stems, sum them as integers */
    short *q[NSTEMS + 1];
    for (int s = 0; s <= NSTEMS; s++) {
        q[s] = malloc((size_t)win * 2 * sizeof *q[s]);
        if (!q[s]) die(outdir, "out of memory");
    }
    for (long i = 0; i < 2 * win; i++) {
        long sum = 0;
        for (int s = 0; s < NSTEMS; s++) {
            long v = lrint(x[s][i] * gain * 32768.0);
            if (v > 32767 || v < -32768) die(outdir, "internal error: a stem clips");
            q[s][i] = (short)v;
            sum += v;
        }
        if (sum > 32767 || sum < -32768) die(outdir, "internal error: the mixture clips");
        q[NSTEMS][i] = (short)sum;
    }
    for (int s = 0; s < NSTEMS; s++) {
        write_pcm16(outdir, stem_name[s], q[s], win);
        free(q[s]);
        free(x[s]);
    }
    write_pcm16(outdir, "mixture", q[NSTEMS], win);
    free(q[NSTEMS]);
    fprintf(stderr, "stemmix: %s: excerpt %ld-%ld s, drums %+.1f dB, bass %+.1f dB, vocals %+.1f dB, gain %.3f; "
            "active drums %.0f%% bass %.0f%% other %.0f%% vocals %.0f%%\n",
            outdir, best_start, best_start + wsec, 20 * log10(gains[DRUMS]), 20 * log10(gains[BASS]),
            20 * log10(gains[VOCALS]), gain, 100.0 * active[DRUMS] / counted, 100.0 * active[BASS] / counted,
            100.0 * active[OTHER] / counted, 100.0 * active[VOCALS] / counted);
    return 0;
}
