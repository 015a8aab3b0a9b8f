# Shared by the demo data set (Makefile) and the full training set (full.mk):
# the OpenMSX songs' track names, the demo's test songs, the checks for the
# Debian packages, and the helper programs (built in $(BINDIR)).

MIDIDIR    ?= /usr/share/games/openttd/baseset/openmsx
FLUIDSYNTH ?= fluidsynth
GAIN       ?= 0.5
CC         ?= cc
CFLAGS_DATA := -std=c11 -O2 -Wall -Wextra -Werror
empty :=
space := $(empty) $(empty)

# The demo's test songs: in test/ only, in every rendering of either set.
DEMO_TEST := the_hobo_redfarn midnight_snow_run busy_schedule ttsong_iv_imuh3

# Track names (titles from openmsx.obm, without apostrophes) by file name.
name.5432gone_redfarn       := OpenMSX - 5 4 3 2 Gone
name.be_sharp_bw_redfarn    := OpenMSX - Be Sharp Boogie
name.boogi_marabi_redfarn   := OpenMSX - Boogie Marabi
name.busy_schedule          := OpenMSX - Busy Schedule
name.careless_perc_redfarn  := OpenMSX - Careless Love
name.chemistry_lab          := OpenMSX - Deep Down Chemistry Lab
name.chuggachugga           := OpenMSX - Chugga Chugga Cha-ching
name.city_blues_redfarn     := OpenMSX - City Blues
name.coconut_run2           := OpenMSX - Coconut Run 2
name.flying_scotsman        := OpenMSX - Unidentified Flying Scotsman
name.harp_harmony           := OpenMSX - Harp Harmony n Humor
name.keep_on_rolling        := OpenMSX - Keep on Rolling
name.linns_basket           := OpenMSX - Linns Basket of Treats
name.midnight_snow_run      := OpenMSX - Midnight Snow Run
name.mighty_giant_run       := OpenMSX - Mighty Giant Run
name.modern_motion          := OpenMSX - Modern Motion
name.moo_redfarn            := OpenMSX - Moo Moo Boogie
name.mosey_along_redfarn    := OpenMSX - Mosey Along
name.no_work_song_redfarn   := OpenMSX - No Work Song
name.relax_song             := OpenMSX - Plain Simple Relax Song
name.run_for_your_life      := OpenMSX - Run for Your Life
name.say_what_redfarn       := OpenMSX - Say What
name.slow_neasy_redfarn     := OpenMSX - Slow and Easy
name.the_fast_route         := OpenMSX - The Fast Route
name.the_hobo_redfarn       := OpenMSX - The Hobo
name.train_filled_with_cash := OpenMSX - Train Filled with Cash
name.ttsong_iii_imuh3       := OpenMSX - Skydive
name.ttsong_iv_imuh3        := OpenMSX - Downtown Cab Ride
name.tttheme2               := OpenMSX - OpenTTD Journey
name.ultimate_run           := OpenMSX - Ultimate Run
name.wood_whistles          := OpenMSX - Wood Whistles

ifeq ($(wildcard $(MIDIDIR)/*.mid),)
$(error $(MIDIDIR): no MIDI files; install openttd-openmsx (`make deps` at the top) or set MIDIDIR)
endif
ifeq ($(shell command -v $(FLUIDSYNTH)),)
$(error $(FLUIDSYNTH) not found; install fluidsynth (`make deps` at the top))
endif

TOOLS := $(BINDIR)/midisplit $(BINDIR)/stemmix

$(BINDIR)/midisplit: midisplit.c
	@mkdir -p $(BINDIR)
	$(CC) $(CFLAGS_DATA) -o $@ $<

$(BINDIR)/stemmix: stemmix.c
	@mkdir -p $(BINDIR)
	$(CC) $(CFLAGS_DATA) $$(pkg-config --cflags sndfile) -o $@ $< $$(pkg-config --libs sndfile) -lm

# $(call lines,FILE,LINES): FILE holds LINES (a list of words, each word one
# line with | for a space), rewritten only when its content changes, so that
# nothing downstream (a training run) goes out of date for nothing.
lines = mkdir -p $(dir $(1)) && : > $(1).tmp && $(foreach l,$(2),printf '%s\n' "$(subst |, ,$(l))" >> $(1).tmp &&) \
  if cmp -s $(1).tmp $(1); then rm -f $(1).tmp; else mv $(1).tmp $(1); fi
