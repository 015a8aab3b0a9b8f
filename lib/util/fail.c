/* tf_fail (util/cli.h), alone in its file so that code built without
 * OpenMP/OpenBLAS (the fuzz targets) can link it. */
#include "util/cli.h"

#include <stdarg.h>
#include <stdio.h>

int tf_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}
