# libFuzzer targets for the stream reader and the .npy/JSON parsers.
#   make fuzz                          build, then fuzz each target for FUZZ_SECONDS
#   make -f tests/fuzz/fuzz.mk build   build only
# Needs clang with libFuzzer (Debian: clang). Binaries in $(BUILD)/fuzz/;
# the seed corpus is formats/golden/ plus tests/fuzz/seeds/; new inputs found
# go to $(BUILD)/fuzz/corpus-*/ (crashes: $(BUILD)/fuzz/crash-*).
BUILD ?= build
CLANG ?= clang
FUZZ_SECONDS ?= 60
FZ := $(BUILD)/fuzz
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=all -fno-omit-frame-pointer -Ilib
STREAM_SRC := lib/stream/ts.c lib/stream/record.c lib/stream/npy.c lib/stream/json.c lib/util/fail.c tests/fuzz/fuzz_shim.c

.PHONY: run build
run: build
	@mkdir -p $(FZ)/corpus-stream $(FZ)/corpus-npy
	$(FZ)/fuzz_stream -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -timeout=10 -rss_limit_mb=1024 \
	    -artifact_prefix=$(FZ)/crash-stream- $(FZ)/corpus-stream formats/golden tests/fuzz/seeds
	$(FZ)/fuzz_npy -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
	    -artifact_prefix=$(FZ)/crash-npy- $(FZ)/corpus-npy tests/fuzz/seeds

build: $(FZ)/fuzz_stream $(FZ)/fuzz_npy

$(FZ)/fuzz_stream: tests/fuzz/fuzz_stream.c $(STREAM_SRC) $(wildcard lib/stream/*.h lib/util/cli.h)
	@mkdir -p $(FZ)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_stream.c $(STREAM_SRC) -lz -lm

$(FZ)/fuzz_npy: tests/fuzz/fuzz_npy.c $(STREAM_SRC) $(wildcard lib/stream/*.h lib/util/cli.h)
	@mkdir -p $(FZ)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_npy.c $(STREAM_SRC) -lz -lm
