/* Command-line options declared once: each tool lists its options in one
 * table (name, letter, kind, variable, help) and this module makes of it the
 * getopt_long call, the parsing of every value (tf_parse_long and friends of
 * cli.h: the same messages, exit status 2) and the options part of --help.
 *
 *     long hop = 512;
 *     int quiet = 0;
 *     tf_opt opts[] = {
 *         {"hop", 'H', TF_OPT_LONG, &hop, "N", 1, 1 << 20, NULL, "hop between frames (default 512)"},
 *         {"quiet", 'q', TF_OPT_FLAG, &quiet, NULL, 0, 0, NULL, "no progress on standard error"},
 *         {"help", 'h', TF_OPT_HELP, NULL, NULL, 0, 0, NULL, "show this help and exit"},
 *         {0},
 *     };
 *     int first = tf_opts_parse(opts, argc, argv);   // -1: --help was given
 *
 * prints, from tf_opts_help(opts, 22):
 *
 *       -H, --hop N         hop between frames (default 512)
 *       -q, --quiet         no progress on standard error
 *       -h, --help          show this help and exit
 */
#ifndef TFSWA_UTIL_OPTS_H
#define TFSWA_UTIL_OPTS_H

typedef enum {
    TF_OPT_END = 0, /* ends the table; its help, when set, is the usage error for an unknown option */
    TF_OPT_FLAG,    /* int *var = 1 */
    TF_OPT_INT,     /* int *var, an integer in [min, max] */
    TF_OPT_LONG,    /* long *var, an integer in [min, max] */
    TF_OPT_I64,     /* int64_t *var, an integer in [min, max] */
    TF_OPT_DOUBLE,  /* double *var, a finite number in [min, max] */
    TF_OPT_U64,     /* uint64_t *var, a non-negative integer */
    TF_OPT_STRING,  /* const char **var = the argument as given */
    TF_OPT_LIST,    /* tf_opt_list *var: the comma-separated items (a later use replaces them) */
    TF_OPT_CALL,    /* only call(o, arg) (arg NULL when the entry has no arg name) */
    TF_OPT_HELP,    /* stops parsing: tf_opts_parse returns -1 and the tool prints its help */
    TF_OPT_TEXT,    /* no option: help prints its help text as a line of its own ("" a blank line) */
} tf_opt_kind;

typedef struct tf_opt tf_opt;
struct tf_opt {
    const char *name; /* long name without the dashes */
    char letter;      /* short option, or 0 */
    tf_opt_kind kind;
    void *var;       /* where the value goes; its type follows kind */
    const char *arg; /* the argument's name in help (N, FILE); NULL for options without one */
    double min, max; /* INT, LONG, I64, DOUBLE: the range accepted */
    /* CALL: handles the option. Other kinds: NULL, or a check run after the
     * value is stored. Errors: tf_usage_error. */
    void (*call)(const tf_opt *o, const char *arg);
    const char *help; /* help text, '\n' between lines; NULL: the option is not listed */
};

/* The items of a TF_OPT_LIST: v points to max slots of the caller's. */
typedef struct {
    char **v;
    int n, max;
} tf_opt_list;

void tf_opt_list_free(tf_opt_list *l);

/* Parses argv's options as getopt_long does (options and operands in any
 * order, unique abbreviations of long names), storing each value as its
 * entry's kind says, in command-line order. Returns the index of the first
 * operand in argv (getopt moves the operands to the end), or -1 when a
 * TF_OPT_HELP option was met (the options after it are not read). An
 * unknown option or a missing argument: getopt's message and the usage error
 * of the table's end entry, or tf_getopt_error's "Try --help" (exit 2). */
int tf_opts_parse(const tf_opt *opts, int argc, char **argv);

/* tf_opts_parse for a tool's main: at --help, usage(opts) prints the help
 * and the program exits 0. Returns the index of the first operand. */
int tf_opts_parse_or_help(const tf_opt *opts, int argc, char **argv, void (*usage)(const tf_opt *opts));

/* Whether argv gives the option called name, as tf_opts_parse would read it
 * (an abbreviation counts, another option's argument does not), without
 * storing values or reporting errors. */
int tf_opts_given(const tf_opt *opts, int argc, char **argv, const char *name);

/* Prints the options part of --help on standard output: per listed option
 * "  -x, --name ARG" (or "      --name ARG") padded to column col (at least
 * one space), then its help, whose further lines start at column col. */
void tf_opts_help(const tf_opt *opts, int col);

/* A TF_OPT_CALL handler for -j/--threads: tf_set_threads of an integer in
 * the entry's [min, max]. */
void tf_opt_threads(const tf_opt *o, const char *arg);

#endif
