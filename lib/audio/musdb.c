#include "audio/musdb.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const musdb_stem_names[MUSDB_NSTEMS] = {"vocals", "drums", "bass", "other"};
const int musdb_stem_streams[MUSDB_NSTEMS] = {
    [MUSDB_VOCALS] = 4, [MUSDB_DRUMS] = 1, [MUSDB_BASS] = 2, [MUSDB_OTHER] = 3};

unsigned musdb_target_mask(const char *name)
{
    for (int s = 0; s < MUSDB_NSTEMS; s++)
        if (!strcmp(name, musdb_stem_names[s]))
            return 1u << s;
    if (!strcmp(name, "accompaniment"))
        return (1u << MUSDB_DRUMS) | (1u << MUSDB_BASS) | (1u << MUSDB_OTHER);
    if (!strcmp(name, "linear_mixture"))
        return (1u << MUSDB_NSTEMS) - 1;
    return 0;
}

const char *const musdb_valid_tracks[14] = {
    "Actions - One Minute Smile",
    "Clara Berry And Wooldog - Waltz For My Victims",
    "Johnny Lokke - Promises & Lies",
    "Patrick Talbot - A Reason To Leave",
    "Triviul - Angelsaint",
    "Alexander Ross - Goodbye Bolero",
    "Fergessen - Nos Palpitants",
    "Leaf - Summerghost",
    "Skelpolu - Human Mistakes",
    "Young Griffo - Pennies",
    "ANiMAL - Rockshow",
    "James May - On The Line",
    "Meaxic - Take A Step",
    "Traffic Experiment - Sirens",
};

const char *musdb_split_name(int split)
{
    switch (split) {
    case MUSDB_TRAIN: return "train";
    case MUSDB_VALID: return "valid";
    case MUSDB_TEST: return "test";
    default: return "file";
    }
}

int musdb_parse_splits(const char *s)
{
    int mask = 0;
    const char *p = s;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if (n == 5 && !strncmp(p, "train", 5))
            mask |= MUSDB_TRAIN;
        else if (n == 5 && !strncmp(p, "valid", 5))
            mask |= MUSDB_VALID;
        else if (n == 4 && !strncmp(p, "test", 4))
            mask |= MUSDB_TEST;
        else if (n == 3 && !strncmp(p, "all", 3))
            mask |= MUSDB_ALL;
        else
            return 0;
        if (!c)
            return mask;
        p = c + 1;
    }
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

int musdb_is_root(const char *path)
{
    if (!is_dir(path))
        return 0;
    char *tr = join(path, "train"), *te = join(path, "test");
    int r = tr && te && (is_dir(tr) || is_dir(te));
    free(tr);
    free(te);
    return r;
}

/* ---- the validation list ---- */
typedef struct {
    char **names;
    int n;
    int from_file; /* valid.txt rather than the built-in list */
} name_list;

static void list_free(name_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof *l);
}

static int list_add(name_list *l, const char *s, size_t len)
{
    char **nn = realloc(l->names, (size_t)(l->n + 1) * sizeof *nn);
    if (!nn)
        return -1;
    l->names = nn;
    l->names[l->n] = strndup(s, len);
    if (!l->names[l->n])
        return -1;
    l->n++;
    return 0;
}

static int list_has(const name_list *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->names[i], s) == 0)
            return 1;
    return 0;
}

static int load_valid(name_list *l, const char *root, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    char *path = join(root, "valid.txt");
    if (!path)
        goto oom;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno != ENOENT) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            free(path);
            return -1;
        }
        free(path);
        for (int i = 0; i < 14; i++)
            if (list_add(l, musdb_valid_tracks[i], strlen(musdb_valid_tracks[i])) != 0)
                goto oom;
        return 0;
    }
    l->from_file = 1;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            n--;
        size_t a = 0;
        while (a < n && (line[a] == ' ' || line[a] == '\t'))
            a++;
        if (a == n || line[a] == '#')
            continue;
        if (list_add(l, line + a, n - a) != 0) {
            fclose(f);
            free(path);
            goto oom;
        }
    }
    fclose(f);
    free(path);
    return 0;
oom:
    list_free(l);
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* ---- tracks ---- */
static void track_free(musdb_track *t)
{
    free(t->name);
    free(t->dir);
    audio_src_close(&t->mix);
    for (int s = 0; s < MUSDB_NSTEMS; s++)
        audio_src_close(&t->src[s]);
    memset(t, 0, sizeof *t);
}

void musdb_close(musdb_db *db)
{
    for (int i = 0; i < db->n; i++)
        track_free(&db->t[i]);
    free(db->t);
    free(db->root);
    memset(db, 0, sizeof *db);
}

/* Finds DIR/NAME.wav or DIR/NAME.flac: returns 1 with *path set, 0 when
 * neither exists (*path = the .wav name, for messages), -1 out of memory. */
static int find_stem(const char *dir, const char *name, char **path)
{
    size_t n = strlen(dir) + strlen(name) + 8;
    char *p = malloc(n);
    if (!p)
        return -1;
    *path = p;
    snprintf(p, n, "%s/%s.wav", dir, name);
    if (exists(p))
        return 1;
    snprintf(p, n, "%s/%s.flac", dir, name);
    if (exists(p))
        return 1;
    snprintf(p, n, "%s/%s.wav", dir, name);
    return 0;
}

/* Starts track t: its name, where it is (dir) and split. Returns 0 or -1
 * with err. */
static int track_init(musdb_track *t, const char *dir, const char *name, int split, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->dir = strdup(dir);
    t->split = split;
    t->nsrc = MUSDB_NSTEMS;
    if (!t->name || !t->dir) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Opens and validates one track folder. Returns 0 or -1 with err. */
static int open_track(musdb_track *t, const char *dir, const char *name, int split, char *err, size_t errlen)
{
    if (track_init(t, dir, name, split, err, errlen) != 0)
        return -1;
    static const char *const files[5] = {"mixture", "vocals", "drums", "bass", "other"};
    char *paths[5] = {0};
    int found[5], nfound = 0, rc = -1;
    for (int i = 0; i < 5; i++) {
        found[i] = find_stem(dir, files[i], &paths[i]);
        if (found[i] < 0) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        nfound += found[i];
    }
    if (nfound == 0) {
        snprintf(err, errlen, "%s: not a MUSDB18 track (no mixture.wav, vocals.wav, drums.wav, bass.wav or other.wav)",
                 dir);
        goto done;
    }
    for (int i = 0; i < 5; i++)
        if (!found[i]) {
            snprintf(err, errlen, "%s: missing stem file (a MUSDB18 track has mixture, vocals, drums, bass and other)",
                     paths[i]);
            goto done;
        }
    for (int i = 0; i < 5; i++) {
        audio_src *s = i == 0 ? &t->mix : &t->src[i - 1];
        if (audio_src_open(s, paths[i], err, errlen) != 0)
            goto done;
        if (i > 0 && s->info.rate != t->mix.info.rate) {
            snprintf(err, errlen, "%s: sample rate %d Hz differs from %s (%d Hz)", paths[i], s->info.rate, paths[0],
                     t->mix.info.rate);
            goto done;
        }
        if (i > 0 && s->info.frames != t->mix.info.frames) {
            snprintf(err, errlen, "%s: %lld frames, but %s has %lld (stems must have the mixture's length)", paths[i],
                     (long long)s->info.frames, paths[0], (long long)t->mix.info.frames);
            goto done;
        }
    }
    t->frames = t->mix.frames;
    rc = 0;
done:
    for (int i = 0; i < 5; i++)
        free(paths[i]);
    return rc;
}

/* Opens and validates one NI Stems file (MUSDB18's <track>.stem.mp4): audio
 * streams 0..4 are mixture, drums, bass, other, vocals. */
static int open_stem_track(musdb_track *t, const char *path, const char *name, int split, char *err, size_t errlen)
{
    if (track_init(t, path, name, split, err, errlen) != 0)
        return -1;
    if (audio_src_open_stream(&t->mix, path, 0, err, errlen) != 0)
        return -1;
    if (t->mix.info.streams < 5) {
        snprintf(err, errlen, "%s: %d audio stream%s; a MUSDB18 .stem.mp4 has 5 (mixture, drums, bass, other, vocals)",
                 path, t->mix.info.streams, t->mix.info.streams == 1 ? "" : "s");
        return -1;
    }
    for (int k = 0; k < MUSDB_NSTEMS; k++) {
        audio_src *s = &t->src[k];
        if (audio_src_open_stream(s, path, musdb_stem_streams[k], err, errlen) != 0)
            return -1;
        if (s->info.rate != t->mix.info.rate || s->info.frames != t->mix.info.frames) {
            snprintf(err, errlen,
                     "%s: stream %d (%s): %lld frames at %d Hz, but stream 0 (mixture) has %lld at %d Hz (stems "
                     "must have the mixture's length)",
                     path, musdb_stem_streams[k], musdb_stem_names[k], (long long)s->info.frames, s->info.rate,
                     (long long)t->mix.info.frames, t->mix.info.rate);
            return -1;
        }
    }
    t->frames = t->mix.frames;
    return 0;
}

/* NAME.stem.mp4 -> 1 (a stem file), else 0. */
static int is_stem_name(const char *name)
{
    size_t n = strlen(name);
    return n > 9 && strcmp(name + n - 9, ".stem.mp4") == 0;
}

static int matches(const char *name, char *const *patterns, int npat)
{
    if (npat == 0)
        return 1;
    for (int i = 0; i < npat; i++) {
        const char *p = patterns[i];
        if (strpbrk(p, "*?[") ? fnmatch(p, name, 0) == 0 : strstr(name, p) != NULL)
            return 1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int add_track(musdb_db *db, int *cap, musdb_track *t)
{
    if (db->n == *cap) {
        int nc = *cap ? *cap * 2 : 64;
        musdb_track *nt = realloc(db->t, (size_t)nc * sizeof *nt);
        if (!nt)
            return -1;
        db->t = nt;
        *cap = nc;
    }
    db->t[db->n++] = *t;
    return 0;
}

/* What musdb_open selects, for the folder scan. */
typedef struct {
    const char *root;
    int splits;
    char *const *patterns;
    int npat, skip_bad;
    void (*warn)(const char *msg);
    const name_list *valid;
} scan_opts;

/* The entries of folder sdir (no dot files), sorted by track name: in
 * NAME.stem.mp4 the '.' before "stem.mp4" becomes '\001' so that such a
 * file sorts as NAME among the folders. Returns 0, or -1 with err. */
static int list_folder(const char *sdir, const char *split, name_list *names, char *err, size_t errlen)
{
    memset(names, 0, sizeof *names);
    DIR *d = opendir(sdir);
    if (!d) {
        snprintf(err, errlen, "%s: %s (needed for --split %s)", sdir, strerror(errno), split);
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' && list_add(names, de->d_name, strlen(de->d_name)) != 0) {
            closedir(d);
            list_free(names);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    closedir(d);
    for (int i = 0; i < names->n; i++)
        if (is_stem_name(names->names[i]))
            names->names[i][strlen(names->names[i]) - 9] = '\001';
    qsort(names->names, (size_t)names->n, sizeof *names->names, cmp_str);
    return 0;
}

/* Opens track name of folder sdir (its folder, or NAME.stem.mp4 when
 * stem_file) and adds it to db. A stray file is no track; a track that
 * fails to open is skipped with a warning when o->skip_bad. Returns 0 (added
 * or skipped), or -1 with err. */
static int add_entry(musdb_db *db, int *cap, const char *sdir, const char *name, int stem_file, int split,
                     const scan_opts *o, char *err, size_t errlen)
{
    char *tdir = join(sdir, name);
    if (tdir && stem_file) {
        free(tdir);
        size_t pl = strlen(sdir) + strlen(name) + 12;
        if ((tdir = malloc(pl)))
            snprintf(tdir, pl, "%s/%s.stem.mp4", sdir, name);
    }
    if (!tdir) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!stem_file && !is_dir(tdir)) { /* stray files (README, checksums) are not tracks */
        free(tdir);
        return 0;
    }
    musdb_track t;
    if ((stem_file ? open_stem_track(&t, tdir, name, split, err, errlen)
                   : open_track(&t, tdir, name, split, err, errlen)) != 0) {
        track_free(&t);
        free(tdir);
        if (!o->skip_bad)
            return -1;
        if (o->warn) {
            char msg[1200];
            snprintf(msg, sizeof msg, "%s (track skipped)", err);
            o->warn(msg);
        }
        return 0;
    }
    free(tdir);
    if (add_track(db, cap, &t) != 0) {
        track_free(&t);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Adds the selected tracks of root/train (fi 0: train and valid) or
 * root/test (fi 1). Returns 0, or -1 with err. */
static int scan_folder(musdb_db *db, int *cap, int fi, const scan_opts *o, char *err, size_t errlen)
{
    static const char *const folders[2] = {"train", "test"};
    int want = fi == 0 ? o->splits & (MUSDB_TRAIN | MUSDB_VALID) : o->splits & MUSDB_TEST;
    if (!want)
        return 0;
    char *sdir = join(o->root, folders[fi]);
    if (!sdir) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    name_list names;
    if (list_folder(sdir, fi == 0 ? (want & MUSDB_TRAIN ? "train" : "valid") : "test", &names, err, errlen) != 0) {
        free(sdir);
        return -1;
    }
    int nvalid_seen = 0, rc = 0;
    for (int i = 0; i < names.n && rc == 0; i++) {
        char *name = names.names[i];
        size_t nl = strlen(name);
        int stem_file = nl > 9 && name[nl - 9] == '\001' && strcmp(name + nl - 8, "stem.mp4") == 0;
        if (stem_file) {
            name[nl - 9] = 0;
            if (i > 0 && strcmp(names.names[i - 1], name) == 0) {
                snprintf(err, errlen, "%s/%s: both a folder and a .stem.mp4 of that name", sdir, name);
                rc = -1;
                break;
            }
        }
        int split = fi == 1 ? MUSDB_TEST : list_has(o->valid, name) ? MUSDB_VALID : MUSDB_TRAIN;
        nvalid_seen += split == MUSDB_VALID;
        if ((split & o->splits) && matches(name, o->patterns, o->npat))
            rc = add_entry(db, cap, sdir, name, stem_file, split, o, err, errlen);
    }
    list_free(&names);
    if (rc == 0 && (o->splits & MUSDB_VALID) && fi == 0 && nvalid_seen == 0) {
        snprintf(err, errlen,
                 "%s: none of the %d validation tracks (%s) is here; list this folder's validation "
                 "tracks in %s/valid.txt, one name a line",
                 sdir, o->valid->n, o->valid->from_file ? "from valid.txt" : "the official MUSDB18 list", o->root);
        rc = -1;
    }
    free(sdir);
    return rc;
}

/* Orders db's tracks: train, then valid, then test, each by name (the
 * folder order). Returns 0 or -1 (out of memory). */
static int sort_by_split(musdb_db *db)
{
    musdb_track *sorted = malloc((size_t)db->n * sizeof *sorted);
    if (!sorted)
        return -1;
    int k = 0;
    for (int sp = MUSDB_TRAIN; sp <= MUSDB_TEST; sp <<= 1)
        for (int i = 0; i < db->n; i++)
            if (db->t[i].split == sp)
                sorted[k++] = db->t[i];
    free(db->t);
    db->t = sorted;
    return 0;
}

int musdb_open(musdb_db *db, const char *root, int splits, char *const *patterns, int npat, int skip_bad,
               void (*warn)(const char *msg), char *err, size_t errlen)
{
    memset(db, 0, sizeof *db);
    if (!is_dir(root)) {
        snprintf(err, errlen, "%s: not a folder", root);
        return -1;
    }
    if (!musdb_is_root(root)) {
        snprintf(err, errlen, "%s: not a MUSDB18 folder (it has neither train/ nor test/)", root);
        return -1;
    }
    db->root = strdup(root);
    if (!db->root) {
        snprintf(err, errlen, "%s: out of memory", root);
        return -1;
    }
    name_list valid;
    if (load_valid(&valid, root, err, errlen) != 0)
        return -1;
    scan_opts o = {root, splits, patterns, npat, skip_bad, warn, &valid};
    int cap = 0;
    /* train/ holds train and valid; test/ holds test. */
    for (int fi = 0; fi < 2; fi++)
        if (scan_folder(db, &cap, fi, &o, err, errlen) != 0)
            goto fail;
    if (db->n == 0) {
        snprintf(err, errlen, "%s: no track selected%s", root, npat ? " (no track name matches --track)" : "");
        goto fail;
    }
    if (sort_by_split(db) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    list_free(&valid);
    return 0;
fail:
    list_free(&valid);
    musdb_close(db);
    return -1;
}

int musdb_open_files(musdb_db *db, char *const *files, int n, int skip_bad, void (*warn)(const char *msg), char *err,
                     size_t errlen)
{
    memset(db, 0, sizeof *db);
    db->plain = 1;
    int cap = 0;
    for (int i = 0; i < n; i++) {
        musdb_track t;
        memset(&t, 0, sizeof t);
        if (is_dir(files[i])) {
            snprintf(err, errlen, "%s: a folder, but not a MUSDB18 folder (it has neither train/ nor test/)", files[i]);
        } else if (audio_src_open(&t.src[0], files[i], err, errlen) == 0) {
            const char *base = strrchr(files[i], '/');
            base = base ? base + 1 : files[i];
            const char *dot = strrchr(base, '.');
            size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
            t.name = strndup(base, len);
            t.nsrc = 1;
            t.frames = t.src[0].frames;
            if (t.name && add_track(db, &cap, &t) == 0)
                continue;
            snprintf(err, errlen, "out of memory");
            track_free(&t);
            musdb_close(db);
            return -1;
        }
        track_free(&t);
        if (!skip_bad) {
            musdb_close(db);
            return -1;
        }
        if (warn) {
            char msg[1200];
            snprintf(msg, sizeof msg, "%s (file skipped)", err);
            warn(msg);
        }
    }
    if (db->n == 0) {
        snprintf(err, errlen, "no readable audio file");
        musdb_close(db);
        return -1;
    }
    return 0;
}

int musdb_stems_parse(musdb_stems *st, const char *list, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    int want_other = -1;
    unsigned named = 0;
    const char *p = list;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        char name[32];
        if (n == 0 || n >= sizeof name) {
            snprintf(err, errlen, "'%s': empty or overlong stem name", list);
            return -1;
        }
        memcpy(name, p, n);
        name[n] = 0;
        if (st->n == MUSDB_MAX_OUT) {
            snprintf(err, errlen, "'%s': too many stems", list);
            return -1;
        }
        for (int i = 0; i < st->n; i++)
            if (!strcmp(st->name[i], name)) {
                snprintf(err, errlen, "'%s': stem '%s' named twice", list, name);
                return -1;
            }
        int k = st->n;
        snprintf(st->name[k], sizeof st->name[k], "%s", name);
        if (!strcmp(name, "vocals"))
            st->mask[k] = 1u << MUSDB_VOCALS;
        else if (!strcmp(name, "drums"))
            st->mask[k] = 1u << MUSDB_DRUMS;
        else if (!strcmp(name, "bass"))
            st->mask[k] = 1u << MUSDB_BASS;
        else if (!strcmp(name, "accompaniment"))
            st->mask[k] = (1u << MUSDB_DRUMS) | (1u << MUSDB_BASS) | (1u << MUSDB_OTHER);
        else if (!strcmp(name, "other"))
            want_other = k;
        else {
            snprintf(err, errlen, "unknown stem '%s' (known: vocals, drums, bass, other, accompaniment)", name);
            return -1;
        }
        if (strcmp(name, "accompaniment") && strcmp(name, "other"))
            named |= st->mask[k];
        st->n++;
        if (!c)
            break;
        p = c + 1;
    }
    if (want_other >= 0)
        st->mask[want_other] = ((1u << MUSDB_NSTEMS) - 1) & ~named;
    return 0;
}
