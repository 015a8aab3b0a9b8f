# The full training set (opt-in): every usable OpenMSX song rendered with
# each of four General MIDI SoundFonts from Debian, as whole songs, into the
# MUSDB18-HQ layout:
#
#   musdb-full/train/<Track>/{mixture,drums,bass,other,vocals}.wav
#   musdb-full/test/<Track>/...    the demo's 4 test songs, in each SoundFont
#   musdb-full/valid.txt           the train/ tracks kept for validation: every
#                                  rendering of the VALID songs (unseen songs)
#   musdb-full/tracks.tsv          one line per track: song, SoundFont, variant,
#                                  transposition, tempo, split, track name
#
# Track names: "OpenMSX - <title> [<SoundFont>]", and for the MIDI
# variations (VARIANTS) "OpenMSX - <title> [<SoundFont>, <+-N> st, <F>x]".
# `make full` in examples/data (or `make -f full.mk`) renders what is missing,
# one song at a time, a track complete once its stamp exists (resumable);
# `make clean-full` removes it. See README.md for the song list, the
# exclusions, size and render time. Variables:
#   OUT         output folder (default musdb-full)
#   SOUNDFONTS  which SoundFonts (default: fluidr3 musescore csound opl3)
#   EXCERPT     seconds per track, 0 = whole songs (default)
#   VARIANTS    extra renderings of each train/ song in each SoundFont, each
#               transposed by -3..+3 semitones (not 0) and played at 0.90 to
#               1.10 times the tempo, both drawn from SEED, the song, the
#               SoundFont and the variant number (default 1; 0: none)
#   SEED        seed of the variations (default 1)
#   JOBS        fluidsynth processes per song at once (default 4)
#   TRAIN, VALID, TEST, MIDIDIR, GAIN, FLUIDSYNTH, CC as in the Makefile.

OUT        ?= musdb-full
SOUNDFONTS ?= fluidr3 musescore csound opl3
EXCERPT    ?= 0
VARIANTS   ?= 1
SEED       ?= 1
JOBS       ?= 4
BINDIR     := $(OUT)/.bin
.DEFAULT_GOAL := all
include common.mk

# The SoundFonts: file, label in track names, Debian package.
sf.fluidr3     := /usr/share/sounds/sf2/FluidR3_GM.sf2
label.fluidr3  := FluidR3
pkg.fluidr3    := fluid-soundfont-gm
sf.musescore    := /usr/share/sounds/sf3/MuseScore_General_Full.sf3
label.musescore := MuseScore
pkg.musescore   := musescore-general-soundfont
sf.csound      := /usr/share/sounds/sf2/sf_GMbank.sf2
label.csound   := Csound GM
pkg.csound     := csound-soundfont
sf.opl3        := /usr/share/sounds/sf2/OPL-3_FM_128M.sf2
label.opl3     := OPL3 FM
pkg.opl3       := opl3-soundfont

# Songs (file names without .mid; README.md says why each excluded one is).
# bass.SONG := CH... makes those channels the bass (re-voiced as GM 34,
# midisplit --bass) in songs that play their bass line on a piano and a
# guitar in unison (the piano an octave above in moo_redfarn).
TRAIN ?= be_sharp_bw_redfarn 5432gone_redfarn no_work_song_redfarn say_what_redfarn \
         keep_on_rolling linns_basket flying_scotsman run_for_your_life the_fast_route \
         train_filled_with_cash careless_perc_redfarn tttheme2 ultimate_run chuggachugga \
         boogi_marabi_redfarn city_blues_redfarn
VALID ?= mighty_giant_run modern_motion slow_neasy_redfarn moo_redfarn
TEST  ?= $(DEMO_TEST)
EXCLUDED := chemistry_lab coconut_run2 harp_harmony mosey_along_redfarn relax_song \
            wood_whistles ttsong_iii_imuh3
bass.boogi_marabi_redfarn := 2 3
bass.city_blues_redfarn   := 2 3
bass.moo_redfarn          := 2 3

ifneq ($(filter $(DEMO_TEST),$(TRAIN) $(VALID)),)
$(error the demo's test songs ($(filter $(DEMO_TEST),$(TRAIN) $(VALID))) may only be in TEST)
endif
ifneq ($(filter $(VALID),$(TRAIN) $(TEST)),)
$(error validation songs ($(filter $(VALID),$(TRAIN) $(TEST))) may not be in TRAIN or TEST)
endif
ifneq ($(filter $(TEST),$(TRAIN)),)
$(error test songs ($(filter $(TEST),$(TRAIN))) may not be in TRAIN)
endif
$(foreach f,$(SOUNDFONTS),$(if $(sf.$(f)),,$(error SOUNDFONTS: unknown '$(f)' (known: fluidr3 musescore csound opl3))))
$(if $(filter-out plan clean,$(MAKECMDGOALS)$(if $(MAKECMDGOALS),,all)),$(foreach f,$(SOUNDFONTS),$(if $(wildcard $(sf.$(f))),,$(error $(sf.$(f)): no such SoundFont; install $(pkg.$(f)) (`make deps` at the top) or leave $(f) out of SOUNDFONTS))))

# A track is SONG.SOUNDFONT.VARIANT (variant 0: the song as written). The
# order renders one SoundFont after another, so an interrupted run leaves
# whole SoundFonts behind it.
VARIANT_IDS := $(shell seq 0 $(VARIANTS))
ids = $(foreach s,$(2),$(foreach v,$(3),$(s).$(1).$(v)))
IDS := $(foreach f,$(SOUNDFONTS),$(call ids,$(f),$(TRAIN),$(VARIANT_IDS)) $(call ids,$(f),$(VALID) $(TEST),0))
STAMPS := $(IDS:%=$(OUT)/.stamps/%)
part = $(word $(2),$(subst ., ,$(1)))
split = $(if $(filter $(call part,$(1),1),$(TEST)),test,train)

.PHONY: all plan clean FORCE
.DELETE_ON_ERROR:
.SECONDEXPANSION:

all: $(OUT)/.done

# the tracks this would make, one a line: song, SoundFont, variant, split
plan:
	@$(foreach i,$(IDS),printf '%s\t%s\t%s\t%s\n' $(subst ., ,$(i)) $(call split,$(i));)

# A stamp holds the track's line of tracks.tsv; the variation's parameters
# come from cksum (POSIX) of "SEED SONG.SOUNDFONT.VARIANT".
$(OUT)/.stamps/%: $(MIDIDIR)/$$(call part,$$*,1).mid $(TOOLS) render.sh
	@mkdir -p $(OUT)/.stamps $(OUT)/.logs
	@set -e; s=$(call part,$*,1) f=$(call part,$*,2) v=$(call part,$*,3); \
	  t=0 x=1.00 opts="$(foreach c,$(bass.$(call part,$*,1)),--bass $(c))" \
	  name="$(name.$(call part,$*,1)) [$(label.$(call part,$*,2))"; \
	  if [ "$$v" != 0 ]; then \
	    h=$$(printf '%s' "$(SEED) $*" | cksum | cut -d' ' -f1); \
	    t=$$((h % 6 - 3)); if [ $$t -ge 0 ]; then t=$$((t + 1)); fi; \
	    k=$$((90 + 2 * (h / 6 % 11))); x=$$(printf '%d.%02d' $$((k / 100)) $$((k % 100))); \
	    opts="$$opts --transpose $$t --tempo $$x"; \
	    name="$$name, $$(printf %+d $$t) st, $${x}x"; \
	  fi; \
	  name="$$name]"; dir="$(OUT)/$(call split,$*)/$$name"; \
	  echo "full: rendering $* -> $$dir"; \
	  if ! MIDISPLIT=$(BINDIR)/midisplit STEMMIX=$(BINDIR)/stemmix FLUIDSYNTH=$(FLUIDSYNTH) SF2=$(sf.$(call part,$*,2)) \
	       EXCERPT=$(EXCERPT) GAIN=$(GAIN) JOBS=$(JOBS) SPLIT_OPTS="$$opts" \
	       sh render.sh $< "$$dir" $(lead.$(call part,$*,1)) 2>"$(OUT)/.logs/$*.log"; then \
	    cat "$(OUT)/.logs/$*.log" >&2; exit 1; fi; \
	  grep '^stemmix:' "$(OUT)/.logs/$*.log" || true; \
	  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$$s" "$$f" "$$v" "$$t" "$$x" "$(call split,$*)" "$$name" > $@.tmp; \
	  mv $@.tmp $@

# valid.txt and tracks.tsv follow the settings (FORCE), but are rewritten only
# when their content changes, so nothing downstream goes out of date for nothing
$(OUT)/valid.txt: FORCE
	@$(call lines,$@,$(foreach i,$(foreach f,$(SOUNDFONTS),$(call ids,$(f),$(VALID),0)),$(subst $(space),|,$(name.$(call part,$(i),1)) [$(label.$(call part,$(i),2))])))

$(OUT)/tracks.tsv: $(STAMPS) FORCE
	@{ printf 'song\tsoundfont\tvariant\ttranspose\ttempo\tsplit\ttrack\n'; \
	   $(foreach i,$(IDS),cat $(OUT)/.stamps/$(i);) } > $@.tmp && \
	  if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

# Tracks that earlier settings made and these do not (another song list,
# fewer SoundFonts or variants) would still be read by musdb-slice: a song
# moved to VALID would leak into training. So they stop the build.
$(OUT)/.done: $(STAMPS) $(OUT)/valid.txt $(OUT)/tracks.tsv FORCE
	@cd $(OUT) && ls -d train/* test/* 2>/dev/null | LC_ALL=C sort > .tracks.tmp && \
	  tail -n +2 tracks.tsv | awk -F '\t' '{ print $$6 "/" $$7 }' | LC_ALL=C sort | \
	  LC_ALL=C comm -23 .tracks.tmp - > .stale.tmp; rm -f .tracks.tmp; \
	  if [ -s .stale.tmp ]; then \
	    echo "full: $(OUT) holds tracks that these settings do not make (musdb-slice would read them):" >&2; \
	    sed 's/^/  /' .stale.tmp >&2; rm -f .stale.tmp; \
	    echo "full: remove them, or start over with 'make clean-full'" >&2; exit 1; fi; rm -f .stale.tmp
	@touch $@
	@echo "full: $(OUT): $$(ls $(OUT)/train 2>/dev/null | wc -l) train (of which $$(wc -l < $(OUT)/valid.txt) validation) and $$(ls $(OUT)/test 2>/dev/null | wc -l) test tracks, $$(du -sh $(OUT) | cut -f1)"

clean:
	rm -rf $(OUT)
