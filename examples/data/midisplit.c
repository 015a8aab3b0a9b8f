/* midisplit: split a General MIDI Standard MIDI File into the four MUSDB
 * roles, one MIDI file per role, so that each can be rendered on its own.
 *
 *   midisplit [--lead CH] [--bass CH]... [--vocal-program P] [--bass-program P]
 *             [--transpose N] [--tempo F] [--info] IN.mid OUTPREFIX
 *
 * writes OUTPREFIX.drums.mid, OUTPREFIX.bass.mid, OUTPREFIX.vocals.mid and
 * OUTPREFIX.other.mid (format 0, same division as the input).
 *
 * Role of every note (decided at its note-on):
 *   drums   MIDI channel 10 (index 9)
 *   bass    the channel's current program is in the GM bass family
 *           (programs 33-40, 1-based), or the channel is named by --bass
 *   vocals  the note is on the lead channel (see below), or on a channel
 *           that doubles it, and not bass
 *   other   everything else
 * The note-off (and polyphonic aftertouch) of a note goes where its note-on
 * went. Every other channel message (program change, controllers, pitch
 * bend, channel pressure), every system-exclusive message and the tempo,
 * time- and key-signature meta events go to all four files, so each role
 * plays with the same controllers and timing as in the song. In the vocals
 * file every program change on the lead channel becomes the vocal patch
 * (GM 54 "Voice Oohs" unless --vocal-program), and one is added at tick 0.
 * All four files end at the same tick (the song's last event).
 *
 * The lead channel, unless --lead names it (1-16), is the melodic channel
 * (not 10, not bass) with the largest number of "lead notes": note-ons that
 * start while no other note sounds on that channel (monophonic lines) and
 * whose pitch is at least the song's median melodic pitch. Ties go to the
 * lower channel. A channel that doubles the lead (3/4 or more of its notes
 * start with a lead note of the same pitch class) is part of the vocals too,
 * so the melody does not also sound in "other" in a second timbre.
 * --info prints the statistics behind these choices.
 *
 * --bass CH (repeatable) makes a channel the bass, for songs whose bass line
 * is played on another instrument (a piano's left hand); in the bass file its
 * program changes become --bass-program (default GM 34, Electric Bass
 * (finger)), as the lead's become the vocal patch.
 *
 * Variation (for extra renderings of a song): --transpose N shifts every
 * note outside channel 10 by N semitones (-12..12; a note shifted out of
 * 0..127 is dropped), --tempo F plays the song F times as fast (0.5..2: every
 * tempo event's microseconds per quarter note divided by F, and a tempo event
 * added at tick 0 when the song has none there). Neither changes the roles.
 *
 * Standard C11 only; bad input is a clear error and exit status 1. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { R_DRUMS, R_BASS, R_VOCALS, R_OTHER, NROLES };
static const char *role_name[NROLES] = { "drums", "bass", "vocals", "other" };
static const char *prog = "midisplit";
static const char *in_path;

static _Noreturn void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: %s: ", prog, in_path ? in_path : "");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

typedef struct {
    uint64_t tick;     /* absolute */
    uint32_t order;    /* (track << 20 | index) for a stable merge */
    uint8_t status;    /* 0x80..0xEF channel; 0xF0/0xF7 sysex; 0xFF meta */
    uint8_t meta;      /* meta type */
    uint32_t len;      /* data length */
    uint8_t *data;     /* channel data (1-2 bytes), sysex or meta payload */
    int role;          /* -1 = all files; else the one role */
} event;

typedef struct { const uint8_t *p; size_t n, i; } reader;

static unsigned rd_u8(reader *r)
{
    if (r->i >= r->n) die("%s", "truncated track (unexpected end of data)");
    return r->p[r->i++];
}

static uint32_t rd_var(reader *r)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned b = rd_u8(r);
        v = (v << 7) | (b & 0x7f);
        if (!(b & 0x80)) return v;
    }
    die("%s", "variable-length quantity longer than 4 bytes");
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }

static event *events;
static size_t nevents, capevents;

static event *new_event(void)
{
    if (nevents == capevents) {
        capevents = capevents ? 2 * capevents : 1024;
        events = realloc(events, capevents * sizeof *events);
        if (!events) die("%s", "out of memory");
    }
    event *e = &events[nevents++];
    memset(e, 0, sizeof *e);
    e->role = -1;
    return e;
}

static uint8_t *copy_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (!d) die("%s", "out of memory");
    if (n) memcpy(d, p, n);
    return d;
}

static void parse_track(const uint8_t *p, size_t n, unsigned track)
{
    reader r = { p, n, 0 };
    uint64_t tick = 0;
    unsigned running = 0, index = 0;
    while (r.i < r.n) {
        tick += rd_var(&r);
        if (tick > (1ull << 40)) die("%s", "absurd event time");
        unsigned b = rd_u8(&r);
        event *e = new_event();
        e->tick = tick;
        e->order = (uint32_t)track << 20 | (index++ & 0xfffff);
        if (b == 0xff) {
            e->status = 0xff;
            e->meta = (uint8_t)rd_u8(&r);
            uint32_t len = rd_var(&r);
            if (len > r.n - r.i) die("%s", "meta event longer than its track");
            e->len = len;
            e->data = copy_bytes(r.p + r.i, len);
            r.i += len;
            if (e->meta == 0x2f) break;          /* end of track */
        } else if (b == 0xf0 || b == 0xf7) {
            e->status = (uint8_t)b;
            uint32_t len = rd_var(&r);
            if (len > r.n - r.i) die("%s", "system-exclusive message longer than its track");
            e->len = len;
            e->data = copy_bytes(r.p + r.i, len);
            r.i += len;
            running = 0;
        } else if (b >= 0xf1) {
            die("%s", "system common/real-time message inside a track");
        } else {
            unsigned d0;
            if (b & 0x80) {
                running = b;
                d0 = rd_u8(&r);
            } else {
                if (!running) die("%s", "data byte without a running status");
                d0 = b;
            }
            unsigned type = running & 0xf0;
            uint8_t d[2] = { (uint8_t)(d0 & 0x7f), 0 };
            e->status = (uint8_t)running;
            e->len = (type == 0xc0 || type == 0xd0) ? 1 : 2;
            if (e->len == 2) d[1] = (uint8_t)(rd_u8(&r) & 0x7f);
            e->data = copy_bytes(d, e->len);
        }
    }
}

static int cmp_event(const void *a, const void *b)
{
    const event *x = a, *y = b;
    if (x->tick != y->tick) return x->tick < y->tick ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int is_note_on(const event *e) { return (e->status & 0xf0) == 0x90 && e->data[1] > 0; }
static int is_note_off(const event *e)
{
    return (e->status & 0xf0) == 0x80 || ((e->status & 0xf0) == 0x90 && e->data[1] == 0);
}
static int is_bass_program(int p) { return p >= 32 && p <= 39; }   /* 0-based 32..39 = GM 33..40 */
static int bass_ch[16];   /* --bass */
static int is_bass(int ch, const int *program) { return bass_ch[ch] || is_bass_program(program[ch]); }

/* --transpose: shift the notes of every channel but 10; drop those that
 * leave 0..127 (on, off and aftertouch alike, so nothing hangs) */
static void transpose(int semitones)
{
    size_t k = 0;
    for (size_t i = 0; i < nevents; i++) {
        event *e = &events[i];
        unsigned type = e->status & 0xf0;
        if (e->status < 0xf0 && (e->status & 0x0f) != 9 && (type == 0x80 || type == 0x90 || type == 0xa0)) {
            int n = e->data[0] + semitones;
            if (n < 0 || n > 127) { free(e->data); continue; }
            e->data[0] = (uint8_t)n;
        }
        events[k++] = *e;
    }
    nevents = k;
}

/* --tempo: every tempo event F times faster, and one at tick 0 (before the
 * merge's sort) when the song relies on the default 120 bpm there */
static void scale_tempo(double f)
{
    int at0 = 0;
    for (size_t i = 0; i < nevents; i++) {
        event *e = &events[i];
        if (e->status != 0xff || e->meta != 0x51) continue;
        if (e->len != 3) die("%s", "tempo event of the wrong length");
        at0 |= e->tick == 0;
        double us = ((uint32_t)e->data[0] << 16 | (uint32_t)e->data[1] << 8 | e->data[2]) / f + 0.5;
        uint32_t v = us < 1 ? 1 : us > 0xffffff ? 0xffffff : (uint32_t)us;
        e->data[0] = (uint8_t)(v >> 16); e->data[1] = (uint8_t)(v >> 8); e->data[2] = (uint8_t)v;
    }
    if (!at0) {
        uint32_t v = (uint32_t)(500000 / f + 0.5);
        uint8_t d[3] = { (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
        event *e = new_event();
        e->status = 0xff; e->meta = 0x51; e->len = 3; e->data = copy_bytes(d, 3);
    }
}

/* ---- writing ---- */
typedef struct { uint8_t *p; size_t n, cap; } buf;

static void put(buf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        while (b->n + n > b->cap) b->cap = b->cap ? 2 * b->cap : 4096;
        b->p = realloc(b->p, b->cap);
        if (!b->p) die("%s", "out of memory");
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put8(buf *b, unsigned v) { uint8_t c = (uint8_t)v; put(b, &c, 1); }
static void putvar(buf *b, uint64_t v)
{
    uint8_t t[10];
    int k = 0;
    t[k++] = v & 0x7f;
    while (v >>= 7) t[k++] = (uint8_t)(0x80 | (v & 0x7f));
    while (k) put8(b, t[--k]);
}

static void write_file(const char *path, const buf *trk, unsigned division)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) die("%s", "output name too long");
    FILE *f = fopen(tmp, "wb");
    if (!f) { in_path = tmp; die("cannot create: %s", strerror(errno)); }
    uint8_t h[22] = { 'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, 0, 0, 1,
                      (uint8_t)(division >> 8), (uint8_t)division,
                      'M', 'T', 'r', 'k',
                      (uint8_t)(trk->n >> 24), (uint8_t)(trk->n >> 16),
                      (uint8_t)(trk->n >> 8), (uint8_t)trk->n };
    int ok = fwrite(h, 1, sizeof h, f) == sizeof h && fwrite(trk->p, 1, trk->n, f) == trk->n;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) { remove(tmp); in_path = path; die("cannot write: %s", strerror(errno)); }
}

int main(int argc, char **argv)
{
    int lead = -1, vocal_prog = 53, bass_prog = 33, info = 0, semitones = 0;   /* 53 = GM 54 Voice Oohs, 33 = GM 34 */
    double tempo = 1;
    int a = 1;
    for (; a < argc && argv[a][0] == '-' && argv[a][1]; a++) {
        char *end;
        long v = 0;
        const char *opt = argv[a];
        int has_arg = strcmp(opt, "--info") && strcmp(opt, "--help") && strcmp(opt, "-h") && a + 1 < argc;
        if (has_arg) {
            errno = 0;
            if (!strcmp(opt, "--tempo")) tempo = strtod(argv[a + 1], &end);
            else v = strtol(argv[a + 1], &end, 10);
            if (*end || end == argv[a + 1] || errno) v = tempo = -1000;   /* out of every range below */
            a++;
        }
        if (!strcmp(opt, "--info")) info = 1;
        else if (!strcmp(opt, "--lead") && has_arg) {
            lead = (int)v - 1;
            if (lead < 0 || lead > 15 || lead == 9) { fprintf(stderr, "%s: --lead: a channel 1-16 other than 10\n", prog); return 2; }
        } else if (!strcmp(opt, "--bass") && has_arg) {
            if (v < 1 || v > 16 || v == 10) { fprintf(stderr, "%s: --bass: a channel 1-16 other than 10\n", prog); return 2; }
            bass_ch[v - 1] = 1;
        } else if ((!strcmp(opt, "--vocal-program") || !strcmp(opt, "--bass-program")) && has_arg) {
            if (v < 1 || v > 128) { fprintf(stderr, "%s: %s: a GM program 1-128\n", prog, opt); return 2; }
            *(opt[2] == 'v' ? &vocal_prog : &bass_prog) = (int)v - 1;
        } else if (!strcmp(opt, "--transpose") && has_arg) {
            if (v < -12 || v > 12) { fprintf(stderr, "%s: --transpose: semitones -12..12\n", prog); return 2; }
            semitones = (int)v;
        } else if (!strcmp(opt, "--tempo") && has_arg) {
            if (!(tempo >= 0.5 && tempo <= 2)) { fprintf(stderr, "%s: --tempo: a factor 0.5..2\n", prog); return 2; }
        } else if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            printf("Usage: midisplit [OPTIONS] IN.mid [OUTPREFIX]\n"
                   "Split a General MIDI file into OUTPREFIX.{drums,bass,vocals,other}.mid.\n"
                   "  --lead CH            lead (\"vocals\") channel, 1-16 (default: chosen by rule)\n"
                   "  --bass CH            make channel CH (1-16) the bass as well (repeatable)\n"
                   "  --vocal-program P    GM program (1-128) of the vocals (default 54, Voice Oohs)\n"
                   "  --bass-program P     GM program (1-128) of --bass channels (default 34, Electric Bass (finger))\n"
                   "  --transpose N        shift every note but the drums by N semitones (-12..12)\n"
                   "  --tempo F            play F times as fast (0.5..2)\n"
                   "  --info               print per-channel statistics and the roles, write nothing\n");
            return 0;
        } else { fprintf(stderr, "%s: unknown option or missing value '%s'\nTry 'midisplit --help'.\n", prog, opt); return 2; }
    }
    if (lead >= 0 && bass_ch[lead]) { fprintf(stderr, "%s: --lead and --bass name the same channel\n", prog); return 2; }
    if (argc - a != (info ? 1 : 2)) { fprintf(stderr, "%s: expected IN.mid%s\nTry 'midisplit --help'.\n", prog, info ? "" : " OUTPREFIX"); return 2; }
    in_path = argv[a];
    const char *outprefix = info ? NULL : argv[a + 1];

    FILE *f = fopen(in_path, "rb");
    if (!f) die("%s", strerror(errno));
    size_t cap = 1 << 16, n = 0;
    uint8_t *file = malloc(cap);
    for (;;) {
        if (!file) die("%s", "out of memory");
        n += fread(file + n, 1, cap - n, f);
        if (n < cap) break;
        if (cap > (64u << 20)) die("%s", "larger than 64 MiB: not a MIDI file");
        cap *= 2;
        file = realloc(file, cap);
    }
    if (ferror(f)) die("%s", strerror(errno));
    fclose(f);

    if (n < 14 || memcmp(file, "MThd", 4) || be32(file + 4) < 6) die("%s", "not a Standard MIDI File (no MThd header)");
    unsigned format = be16(file + 8), ntracks = be16(file + 10), division = be16(file + 12);
    if (format > 1) die("%s", "format 2 MIDI files are not supported");
    if (division & 0x8000) die("%s", "SMPTE time division is not supported");
    size_t pos = 8 + be32(file + 4);
    for (unsigned t = 0; t < ntracks; t++) {
        if (pos + 8 > n) die("%s", "fewer tracks than the header says");
        uint32_t len = be32(file + pos + 4);
        if (len > n - pos - 8) die("%s", "track chunk longer than the file");
        if (!memcmp(file + pos, "MTrk", 4)) parse_track(file + pos + 8, len, t);
        pos += 8 + len;
    }
    free(file);
    if (semitones) transpose(semitones);
    if (tempo != 1) scale_tempo(tempo);
    qsort(events, nevents, sizeof *events, cmp_event);

    /* Pass 1: statistics per channel for the lead rule. */
    int program[16] = { 0 };
    long notes[16] = { 0 }, mono[16] = { 0 }, pitchsum[16] = { 0 }, lead_notes[16] = { 0 };
    int sounding[16][128];
    memset(sounding, 0, sizeof sounding);
    long hist[128] = { 0 }, nmel = 0;
    int prog_at_first[16];
    for (int c = 0; c < 16; c++) prog_at_first[c] = -1;
    uint64_t end_tick = 0;
    for (size_t i = 0; i < nevents; i++) {
        event *e = &events[i];
        if (e->tick > end_tick) end_tick = e->tick;
        if (e->status >= 0xf0) continue;
        int ch = e->status & 0x0f;
        if ((e->status & 0xf0) == 0xc0) program[ch] = e->data[0];
        else if (is_note_on(e)) {
            if (prog_at_first[ch] < 0) prog_at_first[ch] = program[ch];
            if (ch != 9 && !is_bass(ch, program)) {
                int any = 0;
                for (int k = 0; k < 128; k++) any |= sounding[ch][k] > 0;
                notes[ch]++;
                mono[ch] += !any;
                pitchsum[ch] += e->data[0];
                hist[e->data[0]]++;
                nmel++;
            }
            sounding[ch][e->data[0]]++;
        } else if (is_note_off(e)) {
            if (sounding[ch][e->data[0]] > 0) sounding[ch][e->data[0]]--;
        }
    }
    int median = 60;
    for (long acc = 0, k = 0; k < 128; k++) {
        acc += hist[k];
        if (2 * acc >= nmel && nmel) { median = (int)k; break; }
    }
    /* lead notes: monophonic note-ons at or above the median pitch (pass 2) */
    memset(sounding, 0, sizeof sounding);
    memset(program, 0, sizeof program);
    for (size_t i = 0; i < nevents; i++) {
        event *e = &events[i];
        if (e->status >= 0xf0) continue;
        int ch = e->status & 0x0f;
        if ((e->status & 0xf0) == 0xc0) program[ch] = e->data[0];
        else if (is_note_on(e)) {
            if (ch != 9 && !is_bass(ch, program) && e->data[0] >= median) {
                int any = 0;
                for (int k = 0; k < 128; k++) any |= sounding[ch][k] > 0;
                lead_notes[ch] += !any;
            }
            sounding[ch][e->data[0]]++;
        } else if (is_note_off(e)) {
            if (sounding[ch][e->data[0]] > 0) sounding[ch][e->data[0]]--;
        }
    }
    if (lead < 0) {
        long best = 0;
        for (int c = 0; c < 16; c++)
            if (c != 9 && lead_notes[c] > best) { best = lead_notes[c]; lead = c; }
        if (lead < 0) die("%s", "no melodic channel to use as the lead");
    }
    /* Channels that double the lead (at least 3/4 of their note-ons start
     * together with a lead note of the same pitch class) belong to the lead
     * too: otherwise "other" would hold the same melody in another timbre. */
    int vocal_ch[16] = { 0 };
    vocal_ch[lead] = 1;
    {
        size_t nlead = 0;
        uint64_t *keys = malloc((nevents ? nevents : 1) * sizeof *keys);
        if (!keys) die("%s", "out of memory");
        for (size_t i = 0; i < nevents; i++)
            if (events[i].status < 0xf0 && (events[i].status & 0x0f) == lead && is_note_on(&events[i]))
                keys[nlead++] = events[i].tick << 4 | (uint64_t)(events[i].data[0] % 12);
        qsort(keys, nlead, sizeof *keys, cmp_u64);
        long match[16] = { 0 };
        memset(program, 0, sizeof program);
        for (size_t i = 0; i < nevents; i++) {
            event *e = &events[i];
            if (e->status >= 0xf0) continue;
            int ch = e->status & 0x0f;
            if ((e->status & 0xf0) == 0xc0) program[ch] = e->data[0];
            else if (is_note_on(e) && ch != 9 && ch != lead && !is_bass(ch, program)) {
                uint64_t k = e->tick << 4 | (uint64_t)(e->data[0] % 12);
                match[ch] += bsearch(&k, keys, nlead, sizeof *keys, cmp_u64) != NULL;
            }
        }
        for (int c = 0; c < 16; c++)
            if (c != 9 && c != lead && notes[c] >= 16 && 4 * match[c] >= 3 * notes[c]) vocal_ch[c] = 1;
        free(keys);
    }
    if (info) {
        printf("# %s: format %u, %u tracks, division %u, median melodic pitch %d\n",
               in_path, format, ntracks, division, median);
        printf("# ch  program  notes  mono  mean-pitch  lead-notes  role\n");
        for (int c = 0; c < 16; c++) {
            if (prog_at_first[c] < 0) continue;
            const char *role = c == 9 ? "drums" : c == lead ? "vocals (lead)" :
                               bass_ch[c] ? "bass (--bass)" : is_bass_program(prog_at_first[c]) ? "bass" :
                               vocal_ch[c] ? "vocals (doubles the lead)" : "other";
            printf("%4d  %7d  %5ld  %4ld  %10.1f  %10ld  %s\n", c + 1, prog_at_first[c] + 1, notes[c],
                   mono[c], notes[c] ? (double)pitchsum[c] / notes[c] : 0.0, lead_notes[c], role);
        }
        return 0;
    }

    /* Pass 3: assign roles and write. */
    unsigned char note_role[16][128];
    memset(note_role, R_OTHER, sizeof note_role);
    memset(program, 0, sizeof program);
    buf out[NROLES] = { { 0 } };
    uint64_t last[NROLES] = { 0 };
    /* re-voiced channels: the vocal patch on the lead channel(s), the bass
     * patch on --bass channels, each set at tick 0 in its role's file */
    int voice[NROLES][16];
    for (int c = 0; c < 16; c++) {
        for (int r = 0; r < NROLES; r++) voice[r][c] = -1;
        if (vocal_ch[c]) voice[R_VOCALS][c] = vocal_prog;
        if (bass_ch[c]) voice[R_BASS][c] = bass_prog;
    }
    for (int r = 0; r < NROLES; r++)
        for (int c = 0; c < 16; c++) {
            if (voice[r][c] < 0) continue;
            putvar(&out[r], 0);
            put8(&out[r], 0xc0 | (unsigned)c);
            put8(&out[r], (unsigned)voice[r][c]);
        }
    long counts[NROLES] = { 0 };
    for (size_t i = 0; i < nevents; i++) {
        event *e = &events[i];
        int role = -1;   /* -1: every file */
        if (e->status == 0xff) {
            /* keep tempo, SMPTE offset, time and key signatures; drop text, end-of-track (added below) */
            if (e->meta != 0x51 && e->meta != 0x54 && e->meta != 0x58 && e->meta != 0x59) continue;
        } else if (e->status < 0xf0) {
            int ch = e->status & 0x0f, type = e->status & 0xf0;
            if (type == 0xc0) program[ch] = e->data[0];
            else if (is_note_on(e)) {
                role = ch == 9 ? R_DRUMS : is_bass(ch, program) ? R_BASS :
                       vocal_ch[ch] ? R_VOCALS : R_OTHER;
                note_role[ch][e->data[0]] = (unsigned char)role;
                counts[role]++;
            } else if (is_note_off(e) || type == 0xa0) {
                role = note_role[ch][e->data[0]];
            }
        }
        for (int r = 0; r < NROLES; r++) {
            if (role >= 0 && role != r) continue;
            buf *b = &out[r];
            putvar(b, e->tick - last[r]);
            last[r] = e->tick;
            if (e->status == 0xff) {
                put8(b, 0xff); put8(b, e->meta); putvar(b, e->len); put(b, e->data, e->len);
            } else if (e->status == 0xf0 || e->status == 0xf7) {
                put8(b, e->status); putvar(b, e->len); put(b, e->data, e->len);
            } else {
                uint8_t d0 = e->data[0];
                if ((e->status & 0xf0) == 0xc0 && voice[r][e->status & 0x0f] >= 0)
                    d0 = (uint8_t)voice[r][e->status & 0x0f];
                put8(b, e->status); put8(b, d0);
                if (e->len == 2) put8(b, e->data[1]);
            }
        }
    }
    for (int r = 0; r < NROLES; r++) {
        if (!counts[r]) fprintf(stderr, "%s: %s: warning: no %s notes; that stem will be silent\n", prog, in_path, role_name[r]);
        putvar(&out[r], end_tick - last[r]);
        put8(&out[r], 0xff); put8(&out[r], 0x2f); put8(&out[r], 0);
        char path[4096];
        if (snprintf(path, sizeof path, "%s.%s.mid", outprefix, role_name[r]) >= (int)sizeof path)
            die("%s", "output prefix too long");
        write_file(path, &out[r], division);
        free(out[r].p);
    }
    for (size_t i = 0; i < nevents; i++) free(events[i].data);
    free(events);
    return 0;
}
