/* The MUSDB18-HQ layout: ROOT/{train,test}/<track>/{mixture,vocals,drums,
 * bass,other}.wav (or .flac); MUSDB18's compressed one,
 * ROOT/{train,test}/<track>.stem.mp4 (NI Stems: audio streams mixture,
 * drums, bass, other, vocals; both layouts may mix in one root); the
 * official validation split, stem selection, and plain audio files seen as
 * mixture-only tracks.
 * Every file is validated when the collection is opened (readable, mono or
 * stereo, the same rate and length across a track's files), so errors name
 * the file before any record is written. */
#ifndef TFSWA_AUDIO_MUSDB_H
#define TFSWA_AUDIO_MUSDB_H

#include "audio/audio.h"

#include <stddef.h>
#include <stdint.h>

/* The four base stems of MUSDB18, in this order. */
enum { MUSDB_VOCALS, MUSDB_DRUMS, MUSDB_BASS, MUSDB_OTHER, MUSDB_NSTEMS };
extern const char *const musdb_stem_names[MUSDB_NSTEMS];
/* The audio stream of each base stem in a MUSDB18 .stem.mp4 (stream 0 is the mixture). */
extern const int musdb_stem_streams[MUSDB_NSTEMS];
/* The base stems whose sum is the target `name` as musdb's track.targets
 * defines it, as a mask (bit s: base stem s): a base stem alone,
 * accompaniment (drums, bass, other) or linear_mixture (all four); 0 for any
 * other name. */
unsigned musdb_target_mask(const char *name);

/* Splits, as a bit mask. */
enum { MUSDB_TRAIN = 1, MUSDB_VALID = 2, MUSDB_TEST = 4, MUSDB_ALL = 7 };
const char *musdb_split_name(int split); /* "train", "valid", "test", or "file" (0) */
/* Parses "train", "valid", "test", "all" or a comma list of them; returns
 * the mask, or 0 when s is invalid. */
int musdb_parse_splits(const char *s);

/* The 14 official MUSDB18 validation tracks (musdb's mus.yaml), all in train/. */
extern const char *const musdb_valid_tracks[14];

typedef struct {
    char *name;     /* the track folder's name, or the plain file's name without extension */
    char *dir;      /* track folder or .stem.mp4 file (NULL for a plain file) */
    int split;      /* MUSDB_TRAIN / MUSDB_VALID / MUSDB_TEST, or 0 for a plain file */
    int nsrc;       /* MUSDB_NSTEMS for a track, 1 for a plain file (src[0] is the song) */
    int64_t frames; /* at 44.1 kHz */
    audio_src mix;  /* mixture.wav (a plain file: the file itself) */
    audio_src src[MUSDB_NSTEMS];
    int bad; /* set when a read failed and --skip-bad dropped it */
} musdb_track;

typedef struct {
    musdb_track *t;
    int n;
    int plain; /* plain files rather than a MUSDB18 folder */
    char *root;
} musdb_db;

/* Is path a MUSDB18 folder (a directory holding train/ or test/)? */
int musdb_is_root(const char *path);

/* Opens the tracks of ROOT in the splits of mask whose name matches one of
 * the patterns (none: all). Patterns with *, ? or [ are shell globs on the
 * track name; others match any track whose name contains them. The
 * validation list is ROOT/valid.txt when it exists (one track name per
 * line, '#' comments), otherwise musdb_valid_tracks.
 * A bad track (missing stem file, unreadable file, stems of different
 * length or rate, a folder that is not a track): with skip_bad a warning
 * through warn() and the track is left out; otherwise -1 with the message
 * in err. Also -1 when no track is selected. Tracks are sorted by split
 * (train, valid, test) then name. */
int musdb_open(musdb_db *db, const char *root, int splits, char *const *patterns, int npat, int skip_bad,
               void (*warn)(const char *msg), char *err, size_t errlen);
/* Plain audio files as mixture-only tracks, in the order given. */
int musdb_open_files(musdb_db *db, char *const *files, int n, int skip_bad, void (*warn)(const char *msg), char *err,
                     size_t errlen);
void musdb_close(musdb_db *db);

/* Output stems: each is the sum of a set of base stems. `other` holds every
 * base stem not named (so the stems always sum to the mixture), and
 * `accompaniment` is everything but vocals. */
#define MUSDB_MAX_OUT 8
typedef struct {
    int n;
    char name[MUSDB_MAX_OUT][32];
    unsigned mask[MUSDB_MAX_OUT]; /* bit s: base stem s is in this output */
} musdb_stems;
/* Parses a comma list of vocals, drums, bass, other, accompaniment.
 * Returns 0, or -1 with a reason in err. */
int musdb_stems_parse(musdb_stems *st, const char *list, char *err, size_t errlen);

#endif
