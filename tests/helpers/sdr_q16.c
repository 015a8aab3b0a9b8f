/* sdr_q16 SRC DST: copies the test case SRC (reference/ and estimate/ WAVs)
 * to DST with every sample rounded to the 16-bit grid (round half to even
 * of x * 32768, / 32768), still stored as float32: the signals museval sees
 * for MUSDB18-HQ's 16-bit stems. tests/data/bsseval/leak-4stem-pcm16.json
 * holds museval's scores for leak-4stem so quantised. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "audio/audio.h"
#include "util/atomic.h"
#include "util/cli.h"

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    if (argc != 3)
        tf_usage_error("usage: sdr_q16 SRC DST");
    static const char *const sub[2] = {"reference", "estimate"};
    char path[4096], err[512];
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s", argv[2], sub[k]);
        if (tf_mkdirs(path))
            tf_die("%s: cannot create", path);
        snprintf(path, sizeof path, "%s/%s", argv[1], sub[k]);
        DIR *d = opendir(path);
        if (!d)
            tf_die("%s: cannot open", path);
        struct dirent *de;
        while ((de = readdir(d))) {
            size_t l = strlen(de->d_name);
            if (l <= 4 || strcmp(de->d_name + l - 4, ".wav"))
                continue;
            audio_buf b;
            snprintf(path, sizeof path, "%s/%s/%s", argv[1], sub[k], de->d_name);
            if (audio_read(path, 0, -1, &b, err, sizeof err))
                tf_die("%s", err);
            for (size_t i = 0; i < (size_t)b.channels * (size_t)b.frames; i++)
                b.data[i] = (float)(nearbyint((double)b.data[i] * 32768.0) / 32768.0);
            snprintf(path, sizeof path, "%s/%s/%s", argv[2], sub[k], de->d_name);
            if (audio_write(path, b.data, b.channels, b.frames, b.rate, AUDIO_FLOAT, err, sizeof err))
                tf_die("%s", err);
            audio_free(&b);
        }
        closedir(d);
    }
    return 0;
}
