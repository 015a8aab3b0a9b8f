/* Test helper: writes a tensor stream of waveforms to stdout.
 *   stft_gen [-r RECORDS] [-s SEED] [-k KIND] NAME:CHANNELS:SAMPLES...
 * KIND: noise (uniform [-1, 1) with full-scale samples, default), silence,
 * sine. Each record gets attributes track=track-<i> (or -t TRACK), rate=44100,
 * and a tensor per argument; the targets' sum is not the mixture (that is
 * not needed here) unless -m: then `mixture` is written as the sum of the
 * other tensors (which must share its shape). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream/ts.h"
#include "util/cli.h"
#include "util/rng.h"

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    long records = 1;
    uint64_t seed = 1;
    const char *kind = "noise", *track = NULL;
    int mix = 0, c;
    while ((c = getopt(argc, argv, "r:s:k:t:m")) != -1) {
        switch (c) {
        case 'r': records = tf_parse_long("-r", optarg, 0, 1000000); break;
        case 's': seed = tf_parse_u64("-s", optarg); break;
        case 'k': kind = optarg; break;
        case 't': track = optarg; break;
        case 'm': mix = 1; break;
        default: tf_usage_error("bad option");
        }
    }
    ts_writer *w = ts_open_stdout_or_die();
    tf_rng rng;
    tf_rng_seed(&rng, seed);
    for (long i = 0; i < records; i++) {
        ts_record rec;
        ts_record_init(&rec);
        if (track)
            ts_attr_set(&rec, "track", track);
        else
            ts_attr_setf(&rec, "track", "track-%ld", i);
        ts_attr_set(&rec, "rate", "44100");
        ts_tensor *mixture = NULL;
        for (int a = optind; a < argc; a++) {
            char name[256];
            long long ch, n;
            if (sscanf(argv[a], "%255[^:]:%lld:%lld", name, &ch, &n) != 3)
                tf_usage_error("bad tensor spec '%s' (NAME:CHANNELS:SAMPLES)", argv[a]);
            int64_t shape[2] = {ch, n};
            ts_tensor *t = ts_tensor_add(&rec, name, TS_F32, 2, shape);
            float *d = t->data;
            for (int64_t j = 0; j < ch * n; j++) {
                if (strcmp(kind, "silence") == 0)
                    d[j] = 0;
                else if (strcmp(kind, "sine") == 0)
                    d[j] = (float)(0.5 * sin(0.05 * (double)(j % n) * (1 + j / n)));
                else
                    d[j] = j % 101 == 0 ? (j % 2 ? 1.0f : -1.0f) : (float)tf_rng_range(&rng, -1, 1);
            }
            if (mix && strcmp(name, "mixture") == 0)
                mixture = t;
        }
        if (mixture) {
            mixture = ts_tensor_get(&rec, "mixture");
            memset(mixture->data, 0, mixture->nbytes);
            for (int k = 0; k < rec.n_tensors; k++) {
                ts_tensor *t = &rec.tensors[k];
                if (strcmp(t->name, "mixture") == 0 || t->nbytes != mixture->nbytes)
                    continue;
                for (int64_t j = 0; j < ts_numel(t); j++)
                    ((float *)mixture->data)[j] += 0.25f * ((float *)t->data)[j];
            }
            for (int k = 0; k < rec.n_tensors; k++) {
                ts_tensor *t = &rec.tensors[k];
                if (strcmp(t->name, "mixture") != 0 && t->nbytes == mixture->nbytes)
                    for (int64_t j = 0; j < ts_numel(t); j++)
                        ((float *)t->data)[j] *= 0.25f;
            }
        }
        ts_write_or_die(w, &rec);
        ts_record_free(&rec);
    }
    ts_writer_close_or_die(w);
    return 0;
}
