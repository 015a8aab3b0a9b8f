#include "check.h"

int check_failures = 0;
int check_count = 0;

int check_report(const char *name)
{
    if (check_failures)
        fprintf(stderr, "%s: %d of %d checks FAILED\n", name, check_failures, check_count);
    else
        fprintf(stderr, "%s: %d checks ok\n", name, check_count);
    return check_failures ? 1 : 0;
}
