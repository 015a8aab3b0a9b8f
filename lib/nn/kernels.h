/* Which CPU level lib/nn's kernels run at, chosen at run time.
 *
 * The default build (ARCH=portable) compiles the files of lib/nn that hold
 * kernels three times, and the rest of tfswa once for x86-64-v2:
 *   portable  -march=x86-64-v2 (SSE4.2; any x86-64 CPU of the last 15 years)
 *   avx2      -march=x86-64-v3 (AVX2 + FMA: 8-lane kernels)
 *   avx512    -march=x86-64-v4 (AVX-512F/BW/DQ/VL: 16-lane kernels)
 * Each copy's functions get a suffix (__v2, __v3, __v4: the Makefile renames
 * them with objcopy), and lib/nn/dispatch.c defines the public names as jumps
 * through one pointer each, set before main() to the best level the CPU (and
 * the operating system) supports, or to the level the environment variable
 * TFSWA_KERNELS names (portable, avx2, avx512; auto = the best). With
 * ARCH=native (or ARCH=<compiler flags>) lib/nn is compiled once and the one
 * level is called "native".
 *
 * Switching levels is for tests and benchmarks: do it while no lib/nn call is
 * running, and size buffers after the switch (attn_key_stride and the
 * tlayer scratch sizes depend on the vector width). */
#ifndef TFSWA_NN_KERNELS_H
#define TFSWA_NN_KERNELS_H

/* The level running now: "portable", "avx2", "avx512" or "native". */
const char *nn_kernels(void);
/* 1 if the level was compiled in and this CPU runs it, else 0 ("auto": 1). */
int nn_kernels_supported(const char *name);
/* Switches to a level ("auto": the best supported). 0, or -1 if the name is
 * unknown or the CPU cannot run it (nothing changes then). */
int nn_kernels_select(const char *name);
/* 1 when the running level is compiled for AVX-512 (avx512, or a native
 * build for an AVX-512 CPU): the bf16 hardware kernels exist only there. */
int nn_kernels_avx512(void);
/* The levels this CPU runs, best last, separated by spaces (a static string). */
const char *nn_kernels_available(void);

#endif
