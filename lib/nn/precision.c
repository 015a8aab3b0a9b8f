/* The process-wide matrix-product precision (nn/precision.h): state and its
 * setter and getters only, no kernels (this file is compiled once, for
 * every CPU; the kernels are in bf16.c and linear.c). */
#include "nn/precision.h"
#include "nn/kernels.h"

#include <cpuid.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

static nn_precision matmul_precision = NN_FP32;
int nn_bf16_portable = 0, nn_bf16_no_amx = 0;

void nn_set_matmul_precision(nn_precision p) { matmul_precision = p == NN_BF16 ? NN_BF16 : NN_FP32; }

nn_precision nn_matmul_precision(void) { return matmul_precision; }

int nn_bf16_hardware(void)
{
    static atomic_int has = -1; /* the CPU does not change: ask once (any thread may) */
    int h = atomic_load_explicit(&has, memory_order_relaxed);
    if (h < 0) {
        __builtin_cpu_init();
        h = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512f");
        atomic_store_explicit(&has, h, memory_order_relaxed);
    }
    return h && !nn_bf16_portable && nn_kernels_avx512();
}

int nn_bf16_amx(void)
{
    static atomic_int has = -1;
    int h = atomic_load_explicit(&has, memory_order_relaxed);
    if (h < 0) {
        unsigned a, b, c, d;
        h = 0;
        /* CPUID.(7, 0):EDX bit 22 AMX-BF16, bit 24 AMX-TILE; then ask Linux for the tile data
         * state (ARCH_REQ_XCOMP_PERM 0x1023, XFEATURE_XTILEDATA 18): refused where the OS does
         * not support it. The permission holds for every thread of the process. */
        if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (d >> 22 & 1) && (d >> 24 & 1))
            h = syscall(SYS_arch_prctl, 0x1023, 18) == 0;
        atomic_store_explicit(&has, h, memory_order_relaxed);
    }
    return h && !nn_bf16_no_amx && nn_bf16_hardware();
}

const char *nn_bf16_path(void)
{
    return nn_bf16_amx()        ? "bf16 products on this CPU's AMX-BF16 tiles (AVX512_BF16 packing)"
           : nn_bf16_hardware() ? "bf16 products on this CPU's AVX512_BF16 instructions"
                                : "portable bf16 path (no AVX512_BF16 on this CPU, or a kernel level below avx512): "
                                  "bf16 results, float32 speed or less";
}
