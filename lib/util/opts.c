#include "util/opts.h"
#include "util/cli.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most options a table may hold: getopt_long's arrays live on the stack. */
enum { MAX_OPTS = 96 };

/* The getopt_long arguments made from a table: every long option returns
 * 256 + its entry's index, every short option its letter. */
typedef struct {
    struct option longs[MAX_OPTS + 1];
    char shorts[3 * MAX_OPTS + 2];
} getopt_args;

static int takes_arg(const tf_opt *o) { return o->arg != NULL; }

static void build_getopt(const tf_opt *opts, getopt_args *g)
{
    int nl = 0, ns = 0;
    for (int i = 0; opts[i].kind != TF_OPT_END; i++) {
        const tf_opt *o = &opts[i];
        if (o->kind == TF_OPT_TEXT)
            continue;
        if (nl == MAX_OPTS)
            tf_die("option table: more than %d options", MAX_OPTS);
        g->longs[nl++] = (struct option){o->name, takes_arg(o) ? required_argument : no_argument, NULL, 256 + i};
        if (o->letter) {
            g->shorts[ns++] = o->letter;
            if (takes_arg(o))
                g->shorts[ns++] = ':';
        }
    }
    g->longs[nl] = (struct option){0, 0, 0, 0};
    g->shorts[ns] = 0;
}

/* The table's entry for what getopt_long returned (a letter or 256 + index). */
static const tf_opt *entry_of(const tf_opt *opts, int c)
{
    if (c >= 256)
        return &opts[c - 256];
    for (int i = 0; opts[i].kind != TF_OPT_END; i++)
        if (opts[i].letter == c && opts[i].kind != TF_OPT_TEXT)
            return &opts[i];
    return NULL;
}

void tf_opt_list_free(tf_opt_list *l)
{
    tf_free_list(l->v, l->n);
    l->n = 0;
}

/* Stores one option's value as its kind says. */
static void store(const tf_opt *o, const char *arg)
{
    char flag[128];
    snprintf(flag, sizeof flag, "--%s", o->name);
    switch (o->kind) {
    case TF_OPT_FLAG: *(int *)o->var = 1; break;
    case TF_OPT_INT: *(int *)o->var = (int)tf_parse_long(flag, arg, (long)o->min, (long)o->max); break;
    case TF_OPT_LONG: *(long *)o->var = tf_parse_long(flag, arg, (long)o->min, (long)o->max); break;
    case TF_OPT_I64: *(int64_t *)o->var = tf_parse_long(flag, arg, (long)o->min, (long)o->max); break;
    case TF_OPT_DOUBLE: *(double *)o->var = tf_parse_double(flag, arg, o->min, o->max); break;
    case TF_OPT_U64: *(uint64_t *)o->var = tf_parse_u64(flag, arg); break;
    case TF_OPT_STRING: *(const char **)o->var = arg; break;
    case TF_OPT_LIST: {
        tf_opt_list *l = o->var;
        tf_opt_list_free(l);
        l->n = tf_split_list(flag, arg, l->v, l->max);
        break;
    }
    default: break; /* CALL: the handler does it all */
    }
    if (o->call)
        o->call(o, arg);
}

int tf_opts_parse(const tf_opt *opts, int argc, char **argv)
{
    getopt_args g;
    build_getopt(opts, &g);
    const tf_opt *end = opts;
    while (end->kind != TF_OPT_END)
        end++;
    optind = 0; /* getopt starts over (a table may be parsed after another) */
    int c;
    while ((c = getopt_long(argc, argv, g.shorts, g.longs, NULL)) != -1) {
        const tf_opt *o = entry_of(opts, c);
        if (!o) {
            if (end->help)
                tf_usage_error("%s", end->help);
            tf_getopt_error();
        }
        if (o->kind == TF_OPT_HELP)
            return -1;
        store(o, optarg);
    }
    return optind;
}

int tf_opts_given(const tf_opt *opts, int argc, char **argv, const char *name)
{
    getopt_args g;
    build_getopt(opts, &g);
    int c, given = 0, saved = opterr;
    opterr = 0;
    optind = 0;
    while (!given && (c = getopt_long(argc, argv, g.shorts, g.longs, NULL)) != -1) {
        const tf_opt *o = entry_of(opts, c);
        given = o && strcmp(o->name, name) == 0;
    }
    opterr = saved;
    optind = 0;
    return given;
}

int tf_opts_parse_or_help(const tf_opt *opts, int argc, char **argv, void (*usage)(const tf_opt *opts))
{
    int first = tf_opts_parse(opts, argc, argv);
    if (first < 0) {
        usage(opts);
        if (fflush(stdout) != 0)
            tf_exit_on_epipe();
        exit(TF_EXIT_OK);
    }
    return first;
}

void tf_opts_help(const tf_opt *opts, int col)
{
    for (const tf_opt *o = opts; o->kind != TF_OPT_END; o++) {
        if (o->kind == TF_OPT_TEXT) {
            printf("%s\n", o->help);
            continue;
        }
        if (!o->help)
            continue;
        char left[160];
        int n;
        if (o->letter)
            n = snprintf(left, sizeof left, "  -%c, --%s", o->letter, o->name);
        else
            n = snprintf(left, sizeof left, "      --%s", o->name);
        if (o->arg)
            n += snprintf(left + n, sizeof left - (size_t)n, " %s", o->arg);
        if (!*o->help) {
            printf("%s\n", left);
            continue;
        }
        printf("%s%*s", left, n < col ? col - n : 1, "");
        for (const char *p = o->help;;) {
            const char *nl = strchr(p, '\n');
            if (!nl) {
                printf("%s\n", p);
                break;
            }
            printf("%.*s\n%*s", (int)(nl - p), p, col, "");
            p = nl + 1;
        }
    }
}

void tf_opt_threads(const tf_opt *o, const char *arg)
{
    char flag[128];
    snprintf(flag, sizeof flag, "--%s", o->name);
    tf_set_threads((int)tf_parse_long(flag, arg, (long)o->min, (long)o->max));
}
