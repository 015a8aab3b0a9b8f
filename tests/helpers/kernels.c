/* Prints the kernel levels of lib/nn this CPU runs, best last (for make
 * check-kernels; lib/nn/kernels.h). */
#include <stdio.h>

#include "nn/kernels.h"

int main(void)
{
    printf("%s\n", nn_kernels_available());
    return 0;
}
