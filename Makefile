# tfswa: music source separation as small Unix tools.
# Targets: all (default), deps, check, lint, format, demo, bench, install, uninstall, clean.
# No autotools: compiler flags come from pkg-config; override CC, OPT, ARCH, PREFIX as usual.

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
PYTHON   ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)

# Debian packages and why each is here:
#   libsndfile1-dev    audio files (WAV, FLAC, OGG, ...)
#   libsamplerate0-dev resampling plain audio files to 44.1 kHz (a real band-limited resampler)
#   librubberband-dev  time stretch and pitch shift augmentation (better than a phase vocoder of ours)
#   libavformat-dev libavcodec-dev libswresample-dev   FFmpeg's libraries: AAC/M4A/MP4 and MUSDB18's
#                      <track>.stem.mp4 (five AAC streams) read as libsndfile reads WAV (lib/audio/ffdec.c)
#   ffmpeg             the tests make .stem.mp4 files and decode them with ffmpeg itself as the reference
#   libkissfft-dev     FFT (STFT, correlations)
#   libopenblas-openmp-dev  large GEMMs and LAPACK (model, bss_eval); the OpenMP build, so that
#                      OpenBLAS and our own OpenMP loops share one thread pool (with the
#                      pthread build the two pools spin against each other and take
#                      each other's cores)
#   zlib1g-dev         optional tensor compression and CRC-32 in the stream format
#   python3-numpy      the example numpy reader/writer is tested bit-exact against the C code
#   python3-pandas     tests: sdr's CSV loads with pandas.read_csv as it is (tests/sh/sdr_aggregates.sh)
#   clang              the libFuzzer target of the stream reader
#   clang-format       the code's one style (.clang-format), checked by `make lint` and `make check`
#   valgrind           leak checks of the stream and DSP code in `make check`
#   fluidsynth fluid-soundfont-gm openttd-openmsx   the embedded demo data set (rendered General MIDI)
#   musescore-general-soundfont csound-soundfont opl3-soundfont   three more GM SoundFonts for the
#                      opt-in full training set (make -C examples/data full): the same songs in other timbres
#   gnuplot-nox        the demo's training curves and spectrogram pictures
#   time               /usr/bin/time -v: peak memory in bench/ scripts and tests
#   libopenmpi-dev openmpi-bin  data-parallel training, mpirun -np N tfswa-net --train (optional at
#                      build time: MPI=auto|yes|no below); iproute2: the test's network namespaces
DEB_PKGS := gcc make pkg-config libsndfile1-dev libsamplerate0-dev librubberband-dev \
            libavformat-dev libavcodec-dev libswresample-dev libavutil-dev ffmpeg \
            libkissfft-dev libopenblas-openmp-dev zlib1g-dev python3-numpy python3-pandas clang clang-format valgrind \
            fluidsynth fluid-soundfont-gm openttd-openmsx gnuplot-nox time \
            musescore-general-soundfont csound-soundfont opl3-soundfont \
            libopenmpi-dev openmpi-bin iproute2
PKGS := sndfile samplerate rubberband kissfft-float zlib libavformat libavcodec libswresample libavutil
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
BLAS_OMP  := /usr/lib/$(MULTIARCH)/openblas-openmp
ifneq ($(wildcard $(BLAS_OMP)/pkgconfig/openblas.pc),)
BLAS_CFLAGS := $(shell PKG_CONFIG_PATH=$(BLAS_OMP)/pkgconfig pkg-config --cflags openblas)
BLAS_LIBS   := $(shell PKG_CONFIG_PATH=$(BLAS_OMP)/pkgconfig pkg-config --libs openblas) -Wl,-rpath,$(BLAS_OMP)
else
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null)
endif

# MPI=auto (default): tfswa-net --train is built with Open MPI when pkg-config finds it
# (ompi-c), without otherwise; MPI=yes: an error without it; MPI=no: never.
# Only lib/train/dist.c uses it (lib/train/dist.h) and only tfswa-net links it.
MPI ?= auto
ifneq ($(MPI),no)
MPI_FOUND := $(shell pkg-config --exists ompi-c 2>/dev/null && echo 1)
ifeq ($(MPI_FOUND),1)
MPI_CFLAGS := -DTFSWA_MPI $(shell pkg-config --cflags ompi-c)
MPI_LIBS   := $(shell pkg-config --libs ompi-c) -Wl,-rpath,$(shell pkg-config --variable=libdir ompi-c)
else ifeq ($(MPI),yes)
$(error MPI=yes: Open MPI not found (pkg-config ompi-c): apt-get install libopenmpi-dev)
endif
endif

OPT  ?= -O2
# ARCH=portable (default): binaries that run on any x86-64-v2 CPU, with lib/nn's
# kernels compiled for three levels and chosen at run time by CPUID
# (lib/nn/kernels.h). ARCH=native: everything for this CPU only (-march=native).
# ARCH=<flags> (e.g. ARCH=-march=x86-64-v3): those flags, kernels compiled once.
ARCH ?= portable
ifeq ($(ARCH),portable)
ARCH_FLAGS := -march=x86-64-v2 -mtune=generic
DISPATCH   := 1
else ifeq ($(ARCH),native)
ARCH_FLAGS := -march=native
DISPATCH   := 0
else
ARCH_FLAGS := $(ARCH)
DISPATCH   := 0
endif
WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-psabi
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(BLAS_CFLAGS)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(BLAS_LIBS)
BASE_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -g $(OPT) $(ARCH_FLAGS) -fopenmp -Ilib $(PKG_CFLAGS) $(MPI_CFLAGS)
LDLIBS_ALL  = $(PKG_LIBS) -lm -lpthread -fopenmp
CFLAGS ?=
LDFLAGS ?=

# Build variants: the normal one in $(BUILD)/, the sanitizer one in $(BUILD)/san/.
# BUILD=dir keeps separate trees (e.g. for parallel work in one checkout).
BUILD    ?= build
SANITIZE ?=
B := $(BUILD)
ifeq ($(SANITIZE),1)
B := $(BUILD)/san
EXTRA_CFLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
ALL_CFLAGS = $(BASE_CFLAGS) $(EXTRA_CFLAGS) $(CFLAGS)

# V=1 shows the full commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC   := $(sort $(wildcard lib/*/*.c))
# lib/nn's files that are compiled once (state, dispatch); the others hold the
# kernels and, with DISPATCH=1, are compiled once per level into one object
# each, $(B)/nn/kernels-vN.o, whose functions get the suffix __vN.
NN_ONCE_SRC   := lib/nn/state.c lib/nn/dispatch.c $(wildcard lib/nn/precision.c)
NN_KERNEL_SRC := $(filter-out $(NN_ONCE_SRC),$(filter lib/nn/%,$(LIB_SRC)))
NN_LEVELS     := v2 v3 v4
ifeq ($(DISPATCH),1)
LIB_OBJ   := $(patsubst %.c,$(B)/%.o,$(filter-out $(NN_KERNEL_SRC),$(LIB_SRC))) \
             $(foreach l,$(NN_LEVELS),$(B)/nn/kernels-$(l).o)
else
LIB_OBJ   := $(patsubst %.c,$(B)/%.o,$(LIB_SRC))
endif
TOOL_SRC  := $(sort $(wildcard tools/*.c))
TOOLS     := $(patsubst tools/%.c,$(B)/bin/%,$(TOOL_SRC))
# Tools written in POSIX sh (tools/NAME.sh -> bin/NAME), installed with the others.
SCRIPTS   := $(patsubst tools/%.sh,$(B)/bin/%,$(sort $(wildcard tools/*.sh)))
TEST_SRC  := $(sort $(wildcard tests/unit/test_*.c))
TESTS     := $(patsubst tests/unit/%.c,$(B)/tests/%,$(TEST_SRC))
TESTSUP_SRC := $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c))
TESTSUP_OBJ := $(patsubst %.c,$(B)/%.o,$(TESTSUP_SRC))
HELPER_SRC := $(sort $(wildcard tests/helpers/*.c))
HELPERS   := $(patsubst tests/helpers/%.c,$(B)/tests/helpers/%,$(HELPER_SRC))
LIBA      := $(B)/libtfswa.a
MANPAGES  := $(wildcard man/*.[157])

.PHONY: FORCE all deps check check-build check-run check-san demo data bench install uninstall clean fuzz lint format
.DEFAULT_GOAL := all
# Keep the objects of pattern chains (tools, tests): no rebuild of unchanged ones.
.SECONDARY:

all: $(TOOLS) $(SCRIPTS)

# The flags each tree was built with: objects are rebuilt when they change
# (ARCH, OPT, CFLAGS), not only when sources do.
$(B)/.cflags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(ALL_CFLAGS) | $(CC)' | cmp -s - $@ || echo '$(ALL_CFLAGS) | $(CC)' >$@
FORCE:

$(B)/%.o: %.c $(B)/.cflags
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# Run-time dispatch (lib/nn/kernels.h): the kernel files at each level, linked
# into one relocatable object per level whose functions are renamed f -> f__vN
# (calls between them too); nn_syms.h lists the functions for lib/nn/dispatch.c.
# Kernel files may define no global data (it would exist once per level): the
# symbol list refuses it.
ifeq ($(DISPATCH),1)
define NN_LEVEL_RULES
$(B)/nn/$(1)/%.o: %.c $(B)/.cflags
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  CC      $$@")
	$$(Q)$$(CC) $$(ALL_CFLAGS) -march=x86-64-$(1) -MMD -MP -c $$< -o $$@

$(B)/nn/kernels-$(1).o: $(patsubst %.c,$(B)/nn/$(1)/%.o,$(NN_KERNEL_SRC)) $(B)/nn/syms.txt
	@$$(if $$(Q),echo "  LD -r   $$@")
	$$(Q)$$(LD) -r -o $$@.tmp $$(filter %.o,$$^)
	$$(Q)sed 's/.*/& &__$(1)/' $(B)/nn/syms.txt >$$@.map
	$$(Q)objcopy --redefine-syms=$$@.map $$@.tmp $$@ && rm -f $$@.tmp $$@.map
endef
$(foreach l,$(NN_LEVELS),$(eval $(call NN_LEVEL_RULES,$(l))))

$(B)/nn/syms.txt: $(patsubst %.c,$(B)/nn/v2/%.o,$(NN_KERNEL_SRC))
	$(Q)nm -g --defined-only -P $^ | awk '$$2 == "T" { print $$1 } \
	  $$2 ~ /^[BCDGRSV]$$/ { print "lib/nn: global data " $$1 " in a kernel file: move it to lib/nn/state.c" > "/dev/stderr"; bad = 1 } \
	  END { exit bad }' | sort -u >$@.tmp && mv $@.tmp $@

$(B)/nn/nn_syms.h: $(B)/nn/syms.txt
	$(Q)sed 's/.*/NN_FN(&)/' $< >$@

$(B)/lib/nn/dispatch.o: $(B)/nn/nn_syms.h
$(B)/lib/nn/dispatch.o: EXTRA_CFLAGS += -DTFSWA_NN_DISPATCH -I$(B)/nn
endif

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

# MPI (lib/train/dist.h): only tfswa-net (and bench/mpi.sh's helper) link it.
$(B)/bin/tfswa-net $(B)/tests/helpers/dist_bench: LDLIBS_ALL += $(MPI_LIBS)

$(B)/bin/%: $(B)/tools/%.o $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBA) $(LDLIBS_ALL)

$(SCRIPTS): $(B)/bin/%: tools/%.sh
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SCRIPT  $@")
	$(Q)sh -n $< && cp $< $@.tmp && chmod 755 $@.tmp && mv $@.tmp $@

$(B)/tests/%: $(B)/tests/unit/%.o $(TESTSUP_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(TESTSUP_OBJ) $(LIBA) $(LDLIBS_ALL)

# Test helper programs (generators, fixtures): tests/helpers/X.c -> $(B)/tests/helpers/X
$(B)/tests/helpers/%: $(B)/tests/helpers/%.o $(LIBA)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBA) $(LDLIBS_ALL)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# Install missing Debian packages (as root), or print the exact command to do so.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "deps: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "deps: missing Debian packages:$$missing" >&2; \
	  echo "deps: run:  sudo apt-get install -y$$missing" >&2; exit 1; \
	fi

# The whole test suite, with the normal build and again under AddressSanitizer and UBSan,
# and the unit tests at the other kernel levels this CPU runs (tests/run.sh).
# Builds and tests run JOBS at a time (default: the CPUs).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
check:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j$(JOBS) check-build
	@$(MAKE) --no-print-directory -j$(JOBS) check-build SANITIZE=1
	@TEST_JOBS=$(JOBS) sh tests/run.sh $(BUILD)/san $(BUILD)

check-build: $(TOOLS) $(SCRIPTS) $(TESTS) $(HELPERS)

# Only the sanitizer pass (faster iteration on memory bugs).
check-san:
	@$(MAKE) --no-print-directory -j$(JOBS) check-build SANITIZE=1
	@TEST_JOBS=$(JOBS) sh tests/run.sh $(BUILD)/san

fuzz:
	@$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk

# The code's one style (tests/sh/style.sh, also run by `make check`): clang-format
# (.clang-format) and functions of at most 100 lines unless a "Long:" comment says why.
# `make format` rewrites the C files as clang-format writes them.
lint:
	@TOP=$(CURDIR) TMPDIR=$$(mktemp -d) sh tests/sh/style.sh && echo "lint: ok"

format:
	@clang-format -i --style=file lib/*/*.[ch] tools/*.c tests/unit/*.[ch] tests/helpers/*.c tests/fuzz/*.c

demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory -C examples/demo

data:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -C examples/data

bench: all
	@for s in bench/*.sh; do echo "== $$s"; sh $$s || exit 1; done

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(TOOLS) $(SCRIPTS) $(DESTDIR)$(BINDIR)
	install -d $(DESTDIR)$(PREFIX)/share/tfswa/models
	install -m 644 models/vocals-band.ckpt $(DESTDIR)$(PREFIX)/share/tfswa/models/
	for m in $(MANPAGES); do s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done

uninstall:
	for t in $(notdir $(TOOLS) $(SCRIPTS)); do rm -f $(DESTDIR)$(BINDIR)/$$t; done
	rm -f $(DESTDIR)$(PREFIX)/share/tfswa/models/vocals-band.ckpt
	for m in $(notdir $(MANPAGES)); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$$m; done

clean:
	rm -rf $(BUILD)
