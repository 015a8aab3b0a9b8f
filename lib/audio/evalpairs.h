/* The reference and estimate pairs that sdr scores, one track at a time:
 * from a tensor-stream record (each <stem> that has an est/<stem> beside it)
 * or from two WAV trees in MUSDB layout (ROOT[/<split>]/<track>/<stem>.wav
 * and the same paths under the estimates' folder; or MUSDB18's
 * ROOT/<split>/<track>.stem.mp4 as the references). The estimates present
 * decide which stems are scored; references of accompaniment and
 * linear_mixture are derived as musdb does (musdb_target_mask) when no file
 * holds them. Estimates of another length are zero-padded or truncated to
 * the references' (museval.pad_or_truncate).
 * Bad input (unreadable file, mismatched rates, lengths or channels) ends
 * the program with a message naming the file or record (tf_die); a stem
 * without a reference or estimate is skipped with a note unless quiet. */
#ifndef TFSWA_AUDIO_EVALPAIRS_H
#define TFSWA_AUDIO_EVALPAIRS_H

#include <stdint.h>

#include "metrics/museval.h"
#include "stream/ts.h"

typedef struct {
    char *track;     /* the track's name */
    char *split;     /* its split, or NULL */
    char *where;     /* what messages about it name: the record, or the reference folder */
    int n;           /* pairs in stems */
    mus_stem *stems; /* name, ref and est (nchan x nsampl planar) of each pair */
    int nchan, rate;
    int64_t nsampl;
    float **owned; /* buffers this holds (NULL where none), freed by eval_pairs_free */
    int nowned;
    char **names; /* stem names this holds */
    int nnames;
} eval_pairs;

/* The pairs of a record: tensors est/<stem> and <stem>, f32 (channels,
 * samples), with the attributes track (default "record <index>"), split and
 * rate (default 44100). Returns the number of pairs (0: a note says so
 * unless quiet). */
int eval_pairs_from_record(eval_pairs *p, const ts_record *rec, long index, const char *where, int quiet);

/* The tracks under ROOT[/split], sorted, as paths relative to ROOT: folders
 * that hold a .wav file, and NAME.stem.mp4 files (listed as NAME). Ends the
 * program when ROOT cannot be read or holds no track. */
char **eval_tree_tracks(const char *root, const char *split, int *ntracks);
void eval_tree_tracks_free(char **tracks, int ntracks);

/* The pairs of track rel (from eval_tree_tracks) of root, with the estimates
 * estdir/rel/<stem>.wav. The track's name is the last component of rel (of
 * root when rel is empty), its split the first when rel has two. Returns
 * the number of pairs. */
int eval_pairs_from_tree(eval_pairs *p, const char *root, const char *estdir, const char *rel, int quiet);

void eval_pairs_free(eval_pairs *p);

#endif
