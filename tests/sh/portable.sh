#!/bin/sh
# The default build (ARCH=portable) runs on any x86-64-v2 CPU: no AVX
# instruction (no ymm or zmm register) outside lib/nn's avx2 and avx512
# kernel copies, in the library's objects, the portable kernel copy and the
# tools' own objects. The portable kernels themselves are run by make
# check-kernels (TFSWA_KERNELS=portable) and compared with the others by
# test_kernels.
set -u
die() { echo "FAIL: $*" >&2; exit 1; }
grep -q -- '-march=x86-64-v2' "$BUILD/.cflags" 2>/dev/null ||
    { echo "not an ARCH=portable build ($BUILD/.cflags): nothing portable to check" >&2; exit 77; }
command -v objdump >/dev/null || { echo "objdump (binutils) not installed" >&2; exit 77; }
[ -f "$BUILD/nn/kernels-v2.o" ] || die "$BUILD/nn/kernels-v2.o missing: the kernels were not built per level"
# libtfswa.a's members (but the avx2 and avx512 kernel copies) and the tools' objects
bad=$(for f in "$BUILD/libtfswa.a" "$BUILD"/tools/*.o; do objdump -d --no-show-raw-insn "$f"; done |
    awk '/file format/ { obj = $1 } obj !~ /kernels-v[34]\.o/ && /%[yz]mm[0-9]/ { print obj " " $0; if (++n == 5) exit }')
[ -z "$bad" ] || die "AVX instructions beyond x86-64-v2:
$bad"
n=$(ar t "$BUILD/libtfswa.a" | wc -l)
[ "$n" -gt 20 ] || die "only $n objects in $BUILD/libtfswa.a"
# and the AVX-512 copy really is one (the check above would pass on anything)
objdump -d --no-show-raw-insn "$BUILD/nn/kernels-v4.o" | grep -q '%zmm' || die "kernels-v4.o has no AVX-512 code"
objdump -d --no-show-raw-insn "$BUILD/nn/kernels-v3.o" | grep -q '%ymm' || die "kernels-v3.o has no AVX2 code"
echo "$n objects checked: x86-64-v2 only"
