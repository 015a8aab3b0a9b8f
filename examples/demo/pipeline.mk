# The experiment pipeline shared by examples/demo, examples/vocals and
# examples/4stem: every step is a file made from files, so `make` redoes
# only what is missing or out of date, and an interrupted run resumes
# (training itself continues from its working checkpoint with --resume).
#
#   $(OUT)/valid.ts            saved validation stream (spectrograms)
#   $(OUT)/stats.ts            per-bin input statistics of the training mixtures (specnorm)
#   $(OUT)/init.ckpt           the untrained model (tfswa-net --init)
#   $(OUT)/train.ckpt          the working checkpoint training writes (resumable)
#   $(OUT)/model.ckpt          the trained model
#   $(OUT)/logs/               training metrics (CSV, TensorBoard)
#   $(OUT)/separated/          the model's separation of the test tracks, WAV
#   $(OUT)/scores/SYSTEM/      museval JSON per test track, SYSTEM = model, irm, mixture
#   $(OUT)/results.md          the comparison table (Markdown)
#
# Settings (override on the command line, e.g. make MUSDB=~/musdb18hq STEPS=100000):
#   MUSDB      MUSDB18-HQ root (train/, test/); default the embedded demo set
#   OUT        output folder (default out)
#   STEMS      stems of the model, as musdb-slice --stems names them
#   PRESET     model preset (tiny, seed)
#   MASK       unbounded, or residual (the last stem is the mixture minus the others)
#   STEPS      training steps (the length of the cosine schedule); MINUTES caps
#              training time (tfswa-net --time-limit: saves and stops), empty = no cap
#   WARMUP     warm-up steps (empty: the trainer's default, 5% of STEPS)
#   EPOCH_SIZE examples per epoch: validation runs after every epoch
#   BATCH, SEGMENT (seconds), LR, SEED, THREADS (0 = all cores)
#   VALID_COUNT  validation segments of VALID_SEGMENT seconds (random, fixed seed)
#   IRM_POWER  1 or 2 (sigsep's IRM1 / IRM2)
#   AUGMENT    musdb-slice augmentation options for training, e.g.
#              AUGMENT="--gain-prob 1 --swap-prob 0.5 --remix-prob 0.5" (Open-Unmix's recipe)
#   TRAIN_EXTRA  more tfswa-net --train options
#   INIT_EXTRA   more tfswa-net --init options (model hyper-parameters)
#   BIN        where the tools are (default the top build/bin)
#   SHIPPED    a checkpoint trained elsewhere (e.g. models/vocals-band.ckpt) to score beside
#              the one trained here, when the file exists

PIPELINE_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
TOP        ?= $(abspath $(PIPELINE_DIR)/../..)
BUILD      ?= build
BIN        ?= $(TOP)/$(BUILD)/bin
PYTHON     ?= /usr/bin/python3
DEMO_DATA  := $(TOP)/examples/data/musdb-demo
MUSDB      ?= $(DEMO_DATA)
OUT        ?= out
STEMS      ?= vocals,other
PRESET     ?= tiny
MASK       ?= unbounded
STEPS      ?= 100000
MINUTES    ?=
WARMUP     ?=
EPOCH_SIZE ?= 1000
BATCH      ?= 4
SEGMENT    ?= 3
LR         ?= 1e-3
SEED       ?= 1
THREADS    ?= 0
VALID_COUNT   ?= 4
VALID_SEGMENT ?= 6
IRM_POWER  ?= 2
SPLIT_TEST ?= test
TRAIN_EXTRA ?=
INIT_EXTRA ?=
SHIPPED    ?=
AUGMENT    ?=
SCRIPTS    := $(TOP)/examples/demo

export PATH := $(BIN):$(PATH)
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.DELETE_ON_ERROR:
.SECONDARY:

# The embedded data sets are made on demand (the demo set, and the full set
# of examples/data/full.mk); a real MUSDB18-HQ root must exist.
FULL_DATA  := $(TOP)/examples/data/musdb-full
ifeq ($(abspath $(MUSDB)),$(abspath $(DEMO_DATA)))
DATA_DEP := $(DEMO_DATA)/.done
# (OUT=... given to this make must not reach the data's Makefile, whose OUT is the data folder)
$(DEMO_DATA)/.done:
	$(MAKE) -C $(TOP)/examples/data OUT=$(DEMO_DATA)
else ifeq ($(abspath $(MUSDB)),$(abspath $(FULL_DATA)))
DATA_DEP := $(FULL_DATA)/.done
$(FULL_DATA)/.done:
	$(MAKE) -C $(TOP)/examples/data full OUT=$(FULL_DATA)
else
DATA_DEP :=
ifeq ($(wildcard $(MUSDB)/train $(MUSDB)/test),)
$(error MUSDB=$(MUSDB): no train/ or test/ folder there (a MUSDB18-HQ root is expected))
endif
endif

SLICE := musdb-slice --quiet --stems $(STEMS)

.PHONY: check-tools
check-tools:
	@for t in musdb-slice stft istft specnorm tfswa-net sdr oracle; do \
	  command -v $$t >/dev/null || { echo "$(BIN)/$$t is missing: build the tools first (make at the top of tfswa, or BIN=dir)" >&2; exit 1; }; \
	done

$(OUT)/valid.ts: $(DATA_DEP)
	@mkdir -p $(OUT)
	$(SLICE) --split valid --random --segment $(VALID_SEGMENT) --count $(VALID_COUNT) --seed $(SEED) $(MUSDB) \
	  | stft -q -j $(THREADS) > $@.tmp
	mv $@.tmp $@

$(OUT)/stats.ts: $(DATA_DEP)
	@mkdir -p $(OUT)
	$(SLICE) --split train $(MUSDB) | stft -q -j $(THREADS) | specnorm -q -o $@

# A new initial model invalidates the working checkpoint of an earlier run.
$(OUT)/init.ckpt: $(OUT)/stats.ts
	rm -f $(OUT)/train.ckpt
	tfswa-net --init --force --preset $(PRESET) --stems $(STEMS) --mask $(MASK) --stats $(OUT)/stats.ts --seed $(SEED) \
	  $(INIT_EXTRA) -m $@

# Training: the working checkpoint train.ckpt is created from init.ckpt once
# and then resumed; model.ckpt is copied from it when training ends (steps
# done, or MINUTES elapsed: the trainer saves and stops).
# To train further: rm $(OUT)/model.ckpt and make STEPS=<more> (or MINUTES=...).
# Note that a resumed run restarts musdb-slice's random stream from SEED.
$(OUT)/model.ckpt: $(OUT)/init.ckpt $(OUT)/valid.ts $(DATA_DEP)
	@mkdir -p $(OUT)/logs
	if [ -f $(OUT)/train.ckpt ]; then resume=--resume; else cp $(OUT)/init.ckpt $(OUT)/train.ckpt; resume=; fi; \
	rc=0; $(SLICE) --split train --random --segment $(SEGMENT) --seed $(SEED) $(AUGMENT) $(MUSDB) | stft -q -j $(THREADS) | \
	  tfswa-net --train -m $(OUT)/train.ckpt $$resume $(if $(MINUTES),--time-limit $(MINUTES)) \
	    --steps $(STEPS) $(if $(WARMUP),--warmup $(WARMUP)) --epoch-size $(EPOCH_SIZE) \
	    --batch-size $(BATCH) --lr $(LR) --threads $(THREADS) \
	    --log-dir $(OUT)/logs --valid $(OUT)/valid.ts $(TRAIN_EXTRA) || rc=$$?; \
	[ $$rc = 0 ] || { echo "training failed (status $$rc)" >&2; exit $$rc; }
	cp $(OUT)/train.ckpt $@.tmp
	mv $@.tmp $@

# Separation and scores. Each system's scores are a folder of museval JSON
# files; the stamp .done says it is complete.
$(OUT)/scores/model/.done: $(OUT)/model.ckpt $(DATA_DEP)
	rm -rf $(OUT)/scores/model $(OUT)/separated
	mkdir -p $(OUT)/scores/model
	$(SLICE) --split $(SPLIT_TEST) $(MUSDB) | stft -q -j $(THREADS) | tfswa-net -m $(OUT)/model.ckpt -j $(THREADS) \
	  | istft -q -j $(THREADS) --wav $(OUT)/separated | sdr -q -j $(THREADS) --json $(OUT)/scores/model > $(OUT)/scores/model.txt
	touch $@

$(OUT)/scores/irm/.done: $(DATA_DEP)
	rm -rf $(OUT)/scores/irm
	mkdir -p $(OUT)/scores/irm
	$(SLICE) --split $(SPLIT_TEST) $(MUSDB) | stft -q -j $(THREADS) | oracle --quiet --irm --power $(IRM_POWER) \
	  | istft -q -j $(THREADS) | sdr -q -j $(THREADS) --json $(OUT)/scores/irm > $(OUT)/scores/irm.txt
	touch $@

$(OUT)/scores/mixture/.done: $(DATA_DEP)
	rm -rf $(OUT)/scores/mixture
	mkdir -p $(OUT)/scores/mixture
	$(SLICE) --split $(SPLIT_TEST) $(MUSDB) | stft -q -j $(THREADS) | oracle --quiet --mixture \
	  | istft -q -j $(THREADS) | sdr -q -j $(THREADS) --json $(OUT)/scores/mixture > $(OUT)/scores/mixture.txt
	touch $@

# A model trained elsewhere (SHIPPED, e.g. the one in models/), scored on the
# same test tracks beside the one trained here, when the file exists.
SHIPPED_SYSTEM := $(if $(wildcard $(SHIPPED)),shipped)
$(OUT)/scores/shipped/.done: $(SHIPPED) $(DATA_DEP)
	rm -rf $(OUT)/scores/shipped
	mkdir -p $(OUT)/scores/shipped
	$(SLICE) --split $(SPLIT_TEST) $(MUSDB) | stft -q -j $(THREADS) | tfswa-net -q -m $(SHIPPED) -j $(THREADS) \
	  | istft -q -j $(THREADS) | sdr -q -j $(THREADS) --json $(OUT)/scores/shipped > $(OUT)/scores/shipped.txt
	touch $@

SYSTEMS := model $(SHIPPED_SYSTEM) irm mixture
$(OUT)/results.md: $(foreach s,$(SYSTEMS),$(OUT)/scores/$(s)/.done) $(SCRIPTS)/results.py
	$(PYTHON) $(SCRIPTS)/results.py --title "$(RESULTS_TITLE)" \
	  $$([ -s $(OUT)/logs/valid.csv ] && echo --valid-csv $(OUT)/logs/valid.csv) \
	  "tfswa-net ($(PRESET), trained here)=$(OUT)/scores/model" \
	  $(if $(SHIPPED_SYSTEM),"shipped model ($(notdir $(SHIPPED)))=$(OUT)/scores/shipped") \
	  "oracle IRM$(IRM_POWER)=$(OUT)/scores/irm" \
	  "mixture=$(OUT)/scores/mixture" > $@.tmp
	mv $@.tmp $@
