/* ts2npy: unpack a tensor stream into a tree of .npy files and attrs.json. */
#include "stream/json.h"
#include "stream/npy.h"
#include "stream/ts.h"
#include "util/atomic.h"
#include "util/cli.h"
#include "util/opts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(const tf_opt *opts)
{
    printf("Usage: %s [OPTION]... DIR [FILE]...\n"
           "Unpack the tensor streams in FILEs (or standard input) into DIR: record N\n"
           "becomes the folder DIR/NNNNNN (N zero-padded to 6 digits, counted from 0\n"
           "across all inputs) holding one numpy file <tensor name>.npy per tensor (a '/'\n"
           "in a name makes a subfolder) and attrs.json, the record's attributes as a\n"
           "flat JSON object of strings. npy2ts(1) packs such a tree back into a stream.\n"
           "\n"
           "Each record is written to a temporary folder and renamed into place once its\n"
           "CRC has been checked: a damaged stream leaves no partial record behind.\n"
           "\n",
           tf_progname);
    tf_opts_help(opts, 16);
    printf("\n"
           "Exit status: 0 on success, 1 on a damaged stream or a file system error,\n"
           "2 on bad usage. See ts2npy(1), npy2ts(1), tensor-stream(5).\n");
}

static char *g_tmpdir; /* the record folder being written; removed on failure */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

static int rm_rf(const char *path) { return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static void cleanup(void)
{
    if (g_tmpdir) {
        rm_rf(g_tmpdir);
        free(g_tmpdir);
        g_tmpdir = NULL;
    }
}

static int dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = 0;
    closedir(d);
    return empty;
}

static void write_file_or_die(FILE *f, const char *path)
{
    if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
        int e = errno;
        fclose(f);
        tf_die("%s: write error: %s", path, strerror(e));
    }
    if (fclose(f) != 0)
        tf_die("%s: write error: %s", path, strerror(errno));
}

static void write_attrs(const char *dir, const ts_record *rec)
{
    char *path = tf_path_join(dir, "attrs.json");
    FILE *f = fopen(path, "wb");
    if (!f)
        tf_die("%s: %s", path, strerror(errno));
    fputc('{', f);
    for (int i = 0; i < rec->n_attrs; i++) {
        fputs(i ? ",\n  " : "\n  ", f);
        json_write_string(f, rec->attrs[i].key, strlen(rec->attrs[i].key));
        fputs(": ", f);
        json_write_string(f, rec->attrs[i].value, strlen(rec->attrs[i].value));
    }
    fputs(rec->n_attrs ? "\n}\n" : "}\n", f);
    write_file_or_die(f, path);
    free(path);
}

/* DIR may be written into: absent, an empty folder, or any folder with --force. */
static void check_out_dir(const char *out, int force)
{
    struct stat st;
    if (stat(out, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            tf_die("%s: exists and is not a folder", out);
        int e = dir_is_empty(out);
        if (e < 0)
            tf_die("%s: %s", out, strerror(errno));
        if (!e && !force)
            tf_die("%s: folder exists and is not empty (use --force to write into it)", out);
    } else if (errno != ENOENT) {
        tf_die("%s: %s", out, strerror(errno));
    }
}

/* Reads the next tensor of r into g_tmpdir/NAME.npy (NAME may hold '/');
 * buf: chunk bytes. Messages name the final place, out/NNNNNN/NAME.npy. */
static void write_tensor(ts_reader *r, const char *out, long index, unsigned char *buf, size_t chunk)
{
    ts_tensor t;
    if (ts_read_tensor_info(r, &t) < 0)
        tf_die("%s", ts_reader_error(r));
    static char *rel, *path; /* static: reachable (not a leak) when an error exits */
    rel = tf_malloc(strlen(t.name) + 5, "path");
    sprintf(rel, "%s.npy", t.name);
    path = tf_path_join(g_tmpdir, rel);
    char *slash = strrchr(path, '/');
    *slash = 0;
    if (tf_mkdirs(path) != 0)
        tf_die("%s: cannot create: %s", path, strerror(errno));
    *slash = '/';
    FILE *f = fopen(path, "wbx");
    if (!f)
        tf_die("%s/%06ld/%s: %s", out, index, rel, strerror(errno));
    if (npy_write_header(f, t.dtype, t.rank, t.shape) != 0)
        tf_die("%s: write error: %s", path, strerror(errno));
    for (;;) {
        ssize_t n = ts_read_tensor_data(r, buf, chunk);
        if (n < 0)
            tf_die("%s", ts_reader_error(r));
        if (n == 0)
            break;
        if (fwrite(buf, 1, (size_t)n, f) != (size_t)n)
            tf_die("%s/%06ld/%s: write error: %s", out, index, rel, strerror(errno));
    }
    write_file_or_die(f, path);
    free(path);
    free(rel);
}

/* Renames the finished g_tmpdir to out/NNNNNN (replacing one with --force), durably. */
static void publish_record(const char *out, long index, int force)
{
    char leaf[64];
    snprintf(leaf, sizeof leaf, "%06ld", index);
    char *final = tf_path_join(out, leaf);
    if (rename(g_tmpdir, final) != 0) {
        if ((errno == ENOTEMPTY || errno == EEXIST) && force) {
            if (rm_rf(final) != 0 || rename(g_tmpdir, final) != 0)
                tf_die("%s: cannot replace: %s", final, strerror(errno));
        } else {
            tf_die("%s: %s%s", final, strerror(errno),
                   errno == ENOTEMPTY || errno == EEXIST ? " (use --force to replace it)" : "");
        }
    }
    free(final);
    free(g_tmpdir);
    g_tmpdir = NULL;
    int dfd = open(out, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) { /* make the rename durable */
        fsync(dfd);
        close(dfd);
    }
}

int main(int argc, char **argv)
{
    tf_init(argc, argv);
    int force = 0;
    tf_opt opts[] = {
        {"force", 'f', TF_OPT_FLAG, &force, NULL, 0, 0, NULL,
         "write into DIR even if it is not empty (a record folder of the\n"
         "same index is replaced; other files are left alone)"},
        {"help", 'h', TF_OPT_HELP, NULL, NULL, 0, 0, NULL, "show this help and exit"},
        {0},
    };
    int first = tf_opts_parse_or_help(opts, argc, argv, usage);
    if (first >= argc)
        tf_usage_error("missing DIR (the folder to write the .npy files into)");
    const char *out = argv[first++];
    check_out_dir(out, force);
    static ts_reader *r; /* static: reachable (not a leak) when an error exits */
    r = ts_open_inputs_or_die(argc - first, argv + first);
    if (tf_mkdirs(out) != 0)
        tf_die("%s: cannot create: %s", out, strerror(errno));
    atexit(cleanup);

    const size_t CHUNK = 1 << 20;
    static unsigned char *buf;
    buf = tf_malloc(CHUNK, "data buffer");
    static ts_record rec;
    ts_record_init(&rec);
    for (long index = 0;; index++) {
        int nt;
        if (ts_read_begin_or_die(r, &rec, &nt) == 0)
            break;
        char leaf[64];
        snprintf(leaf, sizeof leaf, ".%06ld.tmp.XXXXXX", index);
        g_tmpdir = tf_path_join(out, leaf);
        if (!mkdtemp(g_tmpdir)) {
            int e = errno;
            free(g_tmpdir);
            g_tmpdir = NULL;
            tf_die("%s: cannot create a folder: %s", out, strerror(e));
        }
        chmod(g_tmpdir, 0755);
        for (int i = 0; i < nt; i++)
            write_tensor(r, out, index, buf, CHUNK);
        if (ts_read_finish(r) < 0)
            tf_die("%s", ts_reader_error(r));
        write_attrs(g_tmpdir, &rec);
        publish_record(out, index, force);
    }
    free(buf);
    ts_record_free(&rec);
    ts_reader_close(r);
    return 0;
}
