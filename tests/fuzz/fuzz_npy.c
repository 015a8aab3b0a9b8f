/* libFuzzer target for the .npy header parser and the attrs.json parser. */
#include "stream/json.h"
#include "stream/npy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    npy_info h;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (f) {
        if (npy_read_header(f, &h, 1 << 20, err, sizeof err) == 0 && (h.rank < 0 || h.rank > TS_MAX_RANK))
            abort();
        fclose(f);
    }
    json_pair *p;
    int n = json_parse_flat_object((const char *)data, size, &p, err, sizeof err);
    if (n > 0) {
        for (int i = 0; i < n; i++)
            if (!p[i].key || !p[i].value)
                abort();
        json_pairs_free(p, n);
    }
    return 0;
}
