/* sdr's reports of scored tracks: per track, museval's scores
 * (museval_eval_track) as a table, CSV rows and museval's JSON file; after
 * the last track, the aggregates published tables use (the median over
 * tracks of the track medians as museval's SiSEC 2018 and MUSDB18 tables,
 * the mean over tracks of the global SDR as the Music Demixing Challenge).
 * Values are SDR, SIR, ISR, SAR (medians over the track's windows), SI-SDR
 * and the global SDR, in dB; the CSV writes nan, inf and -inf as
 * pandas.read_csv reads them. See man/sdr.1. */
#ifndef TFSWA_METRICS_REPORT_H
#define TFSWA_METRICS_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "metrics/museval.h"

enum { EVAL_NVALUE = 6 }; /* SDR, SIR, ISR, SAR, SI-SDR, gSDR */

typedef struct {
    const char *json_dir; /* museval's JSON per track: json_dir[/<split>]/<track>.json; NULL: none */
    FILE *table;          /* per-track tables and the summary; NULL: none */
    FILE *csv;            /* one row per track and stem; NULL: none */
    double win_s, hop_s;  /* BSSEval window and hop in seconds */
    int quiet;            /* no notes on stderr */
    int ntracks;          /* tracks scored so far */
    /* every (stem, values) row so far, for the summary */
    int nrows, caprows;
    struct eval_row {
        char *stem;
        double v[EVAL_NVALUE];
    } * rows;
} eval_report;

/* Writes the CSV header (track,target,SDR,SIR,ISR,SAR,SI-SDR,gSDR). */
void eval_report_csv_header(eval_report *r);
/* Scores one track's stems (nchan x nsampl at rate) and reports it; where
 * names it in messages. Returns 0, or -1 when museval cannot score it (a
 * note says why). Ends the program on a bad window or hop and on write
 * errors of the JSON file. */
int eval_report_track(eval_report *r, const char *track, const char *split, const mus_stem *stems, int n, int nchan,
                      int64_t nsampl, int rate, const char *where);
/* The summary tables after the last track (nothing when no table or no track). */
void eval_report_summary(eval_report *r);
void eval_report_free(eval_report *r);

#endif
