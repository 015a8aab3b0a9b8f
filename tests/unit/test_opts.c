/* lib/util/opts.c: the option table's parsing of each kind, ranges, errors
 * (exit 2 with cli.h's messages, checked in a child process), --help's
 * layout and tf_opts_given. */
#include "check.h"
#include "util/cli.h"
#include "util/opts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The variables of the test table. */
static int flag, i32, calls;
static long l;
static int64_t i64;
static double d;
static uint64_t u;
static const char *str;
static char *items[3];
static tf_opt_list list = {items, 0, 3};
static const char *last_call_arg;

static void on_call(const tf_opt *o, const char *arg)
{
    calls++;
    last_call_arg = arg;
}

static void must_be_even(const tf_opt *o, const char *arg)
{
    if (*(int *)o->var % 2)
        tf_usage_error("--%s: %d is odd", o->name, *(int *)o->var);
}

static tf_opt table[] = {
    {"flag", 'f', TF_OPT_FLAG, &flag, NULL, 0, 0, NULL, "a flag"},
    {"int", 'i', TF_OPT_INT, &i32, "N", -5, 5, NULL, "an int\nover two lines"},
    {.kind = TF_OPT_TEXT, .help = ""},
    {.kind = TF_OPT_TEXT, .help = "Section:"},
    {"long", 0, TF_OPT_LONG, &l, "N", 0, 1L << 40, NULL, "a long"},
    {"i64", 0, TF_OPT_I64, &i64, "N", 0, 1L << 40, NULL, "an int64_t"},
    {"double", 'd', TF_OPT_DOUBLE, &d, "X", 0, 1, NULL, "a double"},
    {"u64", 0, TF_OPT_U64, &u, "S", 0, 0, NULL, "a seed"},
    {"string", 's', TF_OPT_STRING, &str, "FILE", 0, 0, NULL, "a string"},
    {"list", 0, TF_OPT_LIST, &list, "LIST", 0, 0, NULL, "a list"},
    {"call", 0, TF_OPT_CALL, NULL, "ARG", 0, 0, on_call, "a callback"},
    {"call-flag", 0, TF_OPT_CALL, NULL, NULL, 0, 0, on_call, "a callback without argument"},
    {"even", 0, TF_OPT_INT, &i32, "N", 0, 100, must_be_even, "checked after storing"},
    {"hidden", 0, TF_OPT_FLAG, &flag, NULL, 0, 0, NULL, NULL},
    {"no-text", 0, TF_OPT_LONG, &l, "MIN,MAX", 0, 1, NULL, ""},
    {"a-very-long-option-name", 0, TF_OPT_FLAG, &flag, "ARGUMENT", 0, 0, NULL, "one space"},
    {"help", 'h', TF_OPT_HELP, NULL, NULL, 0, 0, NULL, "show this help and exit"},
    {0},
};

static void reset(void)
{
    flag = i32 = calls = 0;
    l = 0;
    i64 = 0;
    d = 0;
    u = 0;
    str = NULL;
    last_call_arg = NULL;
    tf_opt_list_free(&list);
}

/* Parses the NULL-terminated arguments after the program name. */
static int parse(const tf_opt *opts, const char *const *args)
{
    static char *argv[32];
    int argc = 0;
    argv[argc++] = "prog";
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    return tf_opts_parse(opts, argc, argv);
}

/* Runs parse (or, with args NULL, the help of opts) in a child whose
 * standard output and error go to out; returns its exit status. */
static int run_child(const tf_opt *opts, const char *const *args, char *out, size_t outlen)
{
    char path[] = "/tmp/test_opts.XXXXXX";
    int fd = mkstemp(path);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        if (args)
            parse(opts, args);
        else
            tf_opts_help(opts, 16);
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ssize_t n = pread(fd, out, outlen - 1, 0);
    out[n > 0 ? n : 0] = 0;
    close(fd);
    unlink(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void check_kinds(void)
{
    reset();
    const char *a[] = {"-f",
                       "in",
                       "-i",
                       "-3",
                       "--long",
                       "1099511627776",
                       "--i64=7",
                       "-d",
                       "0.5",
                       "--u64",
                       "18446744073709551615",
                       "-s",
                       "x.ts",
                       "--list",
                       "a,b",
                       "--list",
                       "c,d,e",
                       "--call",
                       "v",
                       "--call-f",
                       "out",
                       NULL};
    int first = parse(table, a);
    CHECK(flag == 1, "flag %d", flag);
    CHECK(i32 == -3, "int %d", i32);
    CHECK(l == 1L << 40, "long %ld", l);
    CHECK(i64 == 7, "i64 %lld", (long long)i64);
    CHECK(d == 0.5, "double %g", d);
    CHECK(u == UINT64_MAX, "u64 %llu", (unsigned long long)u);
    CHECK(str && !strcmp(str, "x.ts"), "string %s", str ? str : "(null)");
    CHECK(list.n == 3 && !strcmp(items[0], "c") && !strcmp(items[2], "e"), "list: %d items", list.n);
    CHECK(calls == 2 && last_call_arg == NULL, "calls %d", calls);
    CHECK(first == 20, "first operand %d", first); /* getopt moved "in" and "out" to the end */
    reset();
    const char *h[] = {"-f", "--help", "--int", "junk", NULL};
    CHECK(parse(table, h) == -1 && flag == 1, "--help: -1");
    const char *none[] = {NULL};
    CHECK(parse(table, none) == 1, "no options");
}

static void check_errors(void)
{
    static const struct {
        const char *args[4];
        const char *msg;
    } cases[] = {
        {{"--int", "6"}, "prog: --int: 6 is out of range [-5, 5]\nTry 'prog --help' for more information.\n"},
        {{"-i", "x"}, "prog: --int: 'x' is not an integer\n"},
        {{"--double", "2"}, "prog: --double: 2 is out of range [0, 1]\n"},
        {{"-d", "nan"}, "prog: --double: 'nan' is not a number\n"},
        {{"--u64", "-1"}, "prog: --u64: '-1' must not be negative\n"},
        {{"--list", "a,,b"}, "prog: --list: empty item in 'a,,b'\n"},
        {{"--list", "a,b,c,d"}, "prog: --list: more than 3 items in 'a,b,c,d'\n"},
        {{"--even", "3"}, "prog: --even: 3 is odd\n"},
        {{"--bogus"}, "prog: unrecognized option '--bogus'\nTry 'prog --help' for more information.\n"},
        {{"-s"}, "prog: option requires an argument -- 's'\nTry 'prog --help' for more information.\n"},
    };
    char out[4096];
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int st = run_child(table, cases[k].args, out, sizeof out);
        CHECK(st == 2, "%s: exit %d", cases[k].args[0], st);
        CHECK(!strncmp(out, cases[k].msg, strlen(cases[k].msg)), "%s: got\n%s", cases[k].args[0], out);
    }
    /* the end entry's own message for unknown options */
    tf_opt own[] = {{"x", 0, TF_OPT_FLAG, &flag, NULL, 0, 0, NULL, "x"}, {.help = "unknown option (see --x)"}};
    const char *bad[] = {"--y", NULL};
    int st = run_child(own, bad, out, sizeof out);
    CHECK(st == 2 && strstr(out, "prog: unrecognized option '--y'\nprog: unknown option (see --x)\nTry 'prog --help'"),
          "end entry message: exit %d\n%s", st, out);
}

static void check_help(void)
{
    char out[4096];
    run_child(table, NULL, out, sizeof out);
    const char *want = "  -f, --flag    a flag\n"
                       "  -i, --int N   an int\n"
                       "                over two lines\n"
                       "\n"
                       "Section:\n"
                       "      --long N  a long\n"
                       "      --i64 N   an int64_t\n"
                       "  -d, --double X a double\n"
                       "      --u64 S   a seed\n"
                       "  -s, --string FILE a string\n"
                       "      --list LIST a list\n"
                       "      --call ARG a callback\n"
                       "      --call-flag a callback without argument\n"
                       "      --even N  checked after storing\n"
                       "      --no-text MIN,MAX\n"
                       "      --a-very-long-option-name ARGUMENT one space\n"
                       "  -h, --help    show this help and exit\n";
    CHECK(!strcmp(out, want), "help:\n%s", out);
}

static void check_given(void)
{
    char *a[] = {"prog", "-s", "--flag", "--doub", "x", NULL};
    CHECK(!tf_opts_given(table, 5, a, "flag"), "an option's argument is not an option");
    CHECK(tf_opts_given(table, 5, a, "double"), "an abbreviation counts");
    char *b[] = {"prog", "--bogus", "-i", "1", "--fl", NULL};
    CHECK(tf_opts_given(table, 5, b, "flag"), "unknown options are passed over");
    CHECK(tf_opts_given(table, 5, b, "int"), "-i is --int");
}

int main(int argc, char **argv)
{
    tf_progname = "prog"; /* as tf_init sets it, without its re-execution */
    check_kinds();
    check_errors();
    check_help();
    check_given();
    reset();
    return check_report("test_opts");
}
