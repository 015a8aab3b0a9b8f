/* sdr_stream CASE_DIR TRACK [TRIM] [DROP]: writes one stream record on
 * stdout holding CASE_DIR/reference/<stem>.wav as tensor <stem> and
 * CASE_DIR/estimate/<stem>.wav as est/<stem> (f32 (channels, samples)),
 * attributes track=TRACK split=test rate=<rate>. TRIM > 0 truncates the
 * estimates to TRIM samples; DROP names a stem whose reference is left out ("all": every one). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "stream/ts.h"
#include "util/cli.h"

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    if (argc < 3)
        tf_usage_error("usage: sdr_stream CASE_DIR TRACK [TRIM] [DROP]");
    long trim = argc > 3 ? atol(argv[3]) : 0;
    const char *drop = argc > 4 ? argv[4] : "";
    ts_record rec;
    ts_record_init(&rec);
    ts_attr_set(&rec, "track", argv[2]);
    ts_attr_set(&rec, "split", "test");
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/estimate", argv[1]);
    DIR *d = opendir(path);
    if (!d)
        tf_die("%s: cannot open", path);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l <= 4 || strcmp(de->d_name + l - 4, ".wav"))
            continue;
        char stem[256];
        snprintf(stem, sizeof stem, "%.*s", (int)(l - 4), de->d_name);
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 0 && (!strcmp(stem, drop) || !strcmp(drop, "all")))
                continue;
            snprintf(path, sizeof path, "%s/%s/%s", argv[1], pass ? "estimate" : "reference", de->d_name);
            audio_buf b;
            if (audio_read(path, 0, -1, &b, err, sizeof err))
                tf_die("%s", err);
            ts_attr_setf(&rec, "rate", "%d", b.rate);
            int64_t n = b.frames;
            float *data = b.data;
            if (pass && trim > 0 && trim < n) {
                data = malloc(sizeof(float) * (size_t)b.channels * (size_t)trim);
                for (int c = 0; c < b.channels; c++)
                    memcpy(data + (size_t)c * (size_t)trim, b.data + (size_t)c * (size_t)n,
                           sizeof(float) * (size_t)trim);
                free(b.data);
                n = trim;
            }
            int64_t shape[2] = {b.channels, n};
            char name[300];
            snprintf(name, sizeof name, "%s%s", pass ? "est/" : "", stem);
            ts_tensor_adopt(&rec, name, TS_F32, 2, shape, data);
        }
    }
    closedir(d);
    ts_writer *w = ts_open_stdout_or_die();
    ts_write_or_die(w, &rec);
    ts_writer_close_or_die(w);
    ts_record_free(&rec);
    return 0;
}
