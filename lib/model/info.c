/* tfswa-net --info. */
#include "model/info.h"
#include "model/net.h"

#include <math.h>
#include <inttypes.h>
#include <string.h>

void tfswa_print_info(FILE *out, const char *path, const tfswa_model *m, const ts_record *extra, double chunk_sec)
{
    const tfswa_config *c = &m->cfg;
    char b[128];
    fprintf(out, "checkpoint    %s\n", path);
    fprintf(out, "format        tfswa-checkpoint version 1\n");
    fprintf(out, "preset        %s\n", c->preset);
    const int band = c->arch == TFSWA_ARCH_BAND, nl = band ? 1 : TFSWA_LEVELS;
    if (band) {
        int w[TFSWA_MAX_BANDS], K = tfswa_band_widths(c, w);
        fprintf(out, "arch          band: %d bands of", K);
        for (int k = 0; k < K;) { /* runs of equal widths: "6 x 2, ..." */
            int r = k;
            while (r < K && w[r] == w[k])
                r++;
            fprintf(out, "%s %d x %d", k ? "," : "", r - k, w[k]);
            k = r;
        }
        fprintf(out, " bins\nmask_hidden   %d\nfeatures      %s\n", c->mask_hidden,
                c->features ? "logmag: the normalised complex bins and their log magnitude (6 per bin)"
                            : "complex: the normalised complex bins (4 per bin)");
    }
    tfswa_format_ints(b, sizeof b, c->depths, nl);
    fprintf(out, "depths        %s\n", b);
    tfswa_format_ints(b, sizeof b, c->dims, nl);
    fprintf(out, "dims          %s\n", b);
    tfswa_format_ints(b, sizeof b, c->heads, nl);
    fprintf(out, "heads         %s\n", b);
    fprintf(out, "window        %d (shift %d)\n", c->window, c->window / 2);
    fprintf(out, "mlp_ratio     %d\n", c->mlp_ratio);
    fprintf(out, "spectrogram   n_fft %d, hop %d, rate %d Hz: %d bins, %.2f frames/s\n", c->n_fft, c->hop, c->rate,
            tfswa_bins(c), (double)c->rate / c->hop);
    fprintf(out, "stems         ");
    for (int s = 0; s < c->n_stems; s++)
        fprintf(out, "%s%s", s ? "," : "", c->stems[s]);
    if (c->residual)
        fprintf(out, "\nmask          residual: complex ratio masks, the last stem is the mixture minus the others\n");
    else
        fprintf(out, "\nmask          unbounded complex ratio mask per stem and channel\n");
    fprintf(out, "seed          %" PRIu64 "\n", c->seed);
    fprintf(out, "parameters    %zu trainable, %zu buffers (BN statistics, input normalisation)\n", m->layout.n_params,
            m->layout.n_total - m->layout.n_params);
    const char *name;
    size_t p, q;
    for (int i = 0, nm = 1; i < nm; i++) { /* the modules of the op list (lib/model/net.h) */
        nm = tfswa_net_module(c, i, &name, &p, &q);
        fprintf(out, "  %-11s %10zu parameters %8zu buffers\n", name, p, q);
    }
    double fps = (double)c->rate / c->hop;
    int T = (int)floor(chunk_sec * fps + 0.5);
    if (T < TFSWA_MIN_FRAMES)
        T = TFSWA_MIN_FRAMES;
    double pm[6];
    double fl = tfswa_flops(c, T, pm);
    double sec = T / fps;
    fprintf(out, "FLOPs         %.3g GFLOP per second of audio (chunks of %d frames, %.2f s)\n", fl / sec * 1e-9, T,
            sec);
    static const char *const PART[6] = {"stem", "encoder", "bottom", "decoder", "head", "attention"};
    static const char *const BAND_PART[6] = {"band embed", NULL, "blocks", NULL, "mask head", "attention"};
    for (int i = 0; i < 6; i++)
        if (!band || BAND_PART[i])
            fprintf(out, "  %-11s %10.3g GFLOP/s of audio%s\n", (band ? BAND_PART : PART)[i], pm[i] / sec * 1e-9,
                    i == 5 ? " (part of the above)" : "");
    if (extra && (extra->n_tensors || extra->n_attrs)) {
        fprintf(out, "training state: %d tensors", extra->n_tensors);
        for (int i = 0; i < extra->n_attrs; i++)
            fprintf(out, ", %s=%s", extra->attrs[i].key, extra->attrs[i].value);
        fputc('\n', out);
    } else {
        fprintf(out, "training state: none (untrained or exported weights)\n");
    }
}
