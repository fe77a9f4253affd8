/* ctlkit admin: CUCM's `admin:` shell, interactive (libedit: history, tab
 * completion, help) or one command at a time with -c. */
#include <editline/readline.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "admin.h"
#include "ctlkit/text.h"
#include "cli.h"
#include "ctlkit/conf.h"

static const char usage[] =
    "usage: ctlkit admin --cluster DIR --node NAME [-c 'COMMAND'] [--yes] [--json]\n"
    "       ctlkit admin --cluster postgresql://USER@HOST:PORT/DB --dir DIR --node NAME [...]\n"
    "\n"
    "Across hosts DIR is this host's node folder: commands sign only with the\n"
    "keys found there and write only that node's TFTP folder; the other nodes'\n"
    "daemons bring theirs to what the cluster database holds.\n"
    "The admin: shell of one node, with CUCM's commands and messages. Without -c\n"
    "it is interactive (history, tab completion, 'help'). Changes ask\n"
    "(y/n): first; --yes answers them; without a terminal and without --yes a\n"
    "change is refused. Exit codes with -c: 0 done, 1 refused or failed,\n"
    "2 not a valid command.\n"
    "Flags left out are taken from the host's configuration file ($CTLKIT_CONF,\n"
    "or /etc/ctlkit/ctlkit.conf): cluster = ..., dir = ..., node = ...\n";

typedef struct command {
    const char *words; /* the command's fixed words */
    int min_args, max_args;
    admin_fn fn;
    const char *args;  /* for help */
    const char *help;
} command;

static const command commands[] = {
    {"show ctl", 0, 1, admin_show_ctl, "[--json]", "this node's CTL file, as phones get it"},
    {"show itl", 0, 1, admin_show_itl, "[--json]", "this node's ITL file"},
    {"utils ctl set-cluster mixed-mode", 0, 0, admin_set_mixed, "", "tokenless mixed mode (publisher)"},
    {"utils ctl set-cluster non-secure-mode", 0, 0, admin_set_nonsecure, "", "back to non-secure mode (publisher)"},
    {"utils ctl update CTLFile", 0, 0, admin_update_ctl, "", "rebuild and publish the tokenless CTL (publisher)"},
    {"utils ctl reset localkey", 0, 0, admin_ctl_reset_localkey, "",
     "sign the CTL with the ITLRecovery key (publisher; CUCM 12.5+)"},
    {"utils itl reset", 1, 2, admin_itl_reset, "localkey | remotekey NODE",
     "every node's ITL signed with an ITLRecovery key"},
    {"file delete tftp", 1, 1, admin_file_delete, "NAME", "delete a file from this node's TFTP directory"},
    {"file delete activelog", 1, 1, admin_file_delete_activelog, "cm/tftpdata/NAME",
     "delete a file from this node's TFTP directory (CUCM's path)"},
    {"file list tftp", 0, 1, admin_file_list, "[--json]", "list this node's TFTP directory"},
    {"run sql", 1, 1000, admin_run_sql, "SELECT ...", "read-only SQL on the cluster database"},
    {"show cert own", 1, 3, admin_show_cert_own, "UNIT [--pem] [--json]", "a certificate of this node"},
    {"show cert list own", 0, 1, admin_show_cert_list_own, "[--json]", "this node's certificates"},
    {"show cert list trust", 0, 1, admin_show_cert_list_trust, "[--json]", "the cluster's trust stores"},
    {"set cert regen", 1, 3, admin_cert_regen, "UNIT [--digest sha256|sha1]",
     "new key and certificate for a unit of this node"},
    {"set cert import trust", 2, 1000, admin_cert_import, "PURPOSE FILE.pem [DESCRIPTION]",
     "upload a trust certificate (cluster-wide)"},
    {"set cert delete trust", 2, 2, admin_cert_delete, "PURPOSE SERIAL", "delete a trust certificate"},
    {"show params", 0, 1, admin_show_params, "[--json]", "the enterprise parameters"},
    {"set param", 2, 2, admin_set_param, "NAME VALUE", "change an enterprise parameter"},
    {"show tls min-version", 0, 0, admin_show_tls_min, "", "the cluster's minimum TLS version"},
    {"set tls min-version", 1, 1, admin_set_tls_min, "1.0|1.1|1.2|1.3",
     "lowest TLS version TVS and the CTL Provider accept (cluster-wide; applied at restart)"},
    {"utils service restart", 1, 1, admin_service_restart, "\"Cisco Tftp\"|\"Cisco Trust Verification Service\"",
     "restart a service of this node"},
    {"show status", 0, 1, admin_show_status, "[--json]", "checks that protect the fleet, for this node"},
    {"show audit", 0, 1, admin_show_audit, "[--json]", "the latest changes to the cluster"},
    {"show phones trust", 0, 1, admin_show_phones_trust, "[--json]",
     "which phones hold which CTL, per model (the nodes' phone tracking)"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

int admin_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("Executed command unsuccessfully\n");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    return CMD_FAILED;
}

bool admin_take_json(admin *a, int *argc, char **argv)
{
    bool found = a->json;
    int j = 0;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            found = true;
        else
            argv[j++] = argv[i];
    }
    *argc = j;
    return found;
}

/* Prints the prompt, then takes the answer from --yes, or from the
 * terminal (through libedit, which also reads the shell's commands, so
 * that no input is lost between them), or refuses when there is neither. */
static bool ask(admin *a, const char *prompt, bool accept_yes_word)
{
    if (a->yes || !a->interactive) {
        fputs(prompt, stdout);
        if (a->yes) {
            printf("y\n");
            return true;
        }
        printf("\n");
        admin_fail("This command changes the cluster and needs an answer: run it at a terminal, or add --yes.");
        return false;
    }
    /* libedit keeps only the prompt's last line; print the rest first. */
    const char *last = strrchr(prompt, '\n');
    if (last) {
        fwrite(prompt, 1, (size_t)(last - prompt + 1), stdout);
        prompt = last + 1;
    }
    fflush(stdout);
    char *line = readline(prompt);
    bool yes = line && (strcasecmp(line, "y") == 0 || (accept_yes_word && strcasecmp(line, "yes") == 0));
    free(line);
    return yes;
}

bool admin_confirm(admin *a, const char *question)
{
    char prompt[512];
    snprintf(prompt, sizeof prompt, "%s (y/n):", question);
    return ask(a, prompt, true);
}

bool admin_ask(admin *a, const char *prompt) { return ask(a, prompt, true); }

bool admin_confirm_enter_y(admin *a, const char *question)
{
    char prompt[512];
    snprintf(prompt, sizeof prompt, "%s\nEnter \"y\" followed by return to continue: ", question);
    return ask(a, prompt, false);
}

/* Does argv start with the command's words? (case-insensitive) */
static int match_words(const command *c, int argc, char **argv)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", c->words);
    char *save = NULL;
    int i = 0;
    for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save), i++)
        if (i >= argc || strcasecmp(w, argv[i]) != 0)
            return i >= argc && i > 0 ? -i : 0; /* negative: a prefix of the command */
    return i;
}

static void print_help(void)
{
    printf("Commands (CUCM's words; arguments in capitals):\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        printf("  %s%s%s\n      %s\n", commands[i].words, *commands[i].args ? " " : "", commands[i].args,
               commands[i].help);
    printf("  help, quit\n");
}

static int run_line(admin *a, const char *text)
{
    char line[4096];
    char *argv[64];
    if (snprintf(line, sizeof line, "%s", text) >= (int)sizeof line)
        return admin_fail("Command too long");
    /* run sql keeps its SQL as written (quotes and all): split only the verb. */
    const char *p = text;
    while (*p == ' ')
        p++;
    if (strncasecmp(p, "run sql", 7) == 0 && (p[7] == ' ' || p[7] == '\0')) {
        char *sql = line + (p - text) + 7;
        while (*sql == ' ')
            sql++;
        if (!*sql)
            return admin_fail("Incomplete command entered: run sql SELECT ...");
        char *args[1] = {sql};
        return admin_run_sql(a, 1, args);
    }
    int argc = ck_split_words(line, argv, 64);
    if (argc < 0)
        return admin_fail(argc == -1 ? "Unbalanced quotes in command" : "Too many words in command");
    if (argc == 0)
        return CMD_OK;
    if (strcasecmp(argv[0], "help") == 0 || strcmp(argv[0], "?") == 0) {
        print_help();
        return CMD_OK;
    }
    bool prefix = false;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        int m = match_words(&commands[i], argc, argv);
        if (m < 0)
            prefix = true;
        if (m <= 0)
            continue;
        int nargs = argc - m;
        if (nargs < commands[i].min_args || nargs > commands[i].max_args) {
            printf("Executed command unsuccessfully\nUsage: %s%s%s\n", commands[i].words, *commands[i].args ? " " : "",
                   commands[i].args);
            return CMD_USAGE;
        }
        return commands[i].fn(a, nargs, argv + m);
    }
    printf("Executed command unsuccessfully\n");
    if (prefix) {
        printf("Incomplete command entered. Possible completions:\n");
        for (size_t i = 0; i < N_COMMANDS; i++)
            if (match_words(&commands[i], argc, argv) < 0)
                printf("  %s%s%s\n", commands[i].words, *commands[i].args ? " " : "", commands[i].args);
    } else {
        printf("No valid command entered\n");
    }
    return CMD_USAGE;
}

/* Tab completion: the next word of every command that fits what is typed. */
static char *complete_word(const char *text, int state)
{
    static char cands[N_COMMANDS][64];
    static size_t ncand, next;
    if (state == 0) {
        ncand = next = 0;
        char typed[1024];
        char *tw[32];
        snprintf(typed, sizeof typed, "%.*s", rl_point, rl_line_buffer);
        int nt = ck_split_words(typed, tw, 32);
        int done = nt < 0 ? 0 : nt - (rl_point > 0 && rl_line_buffer[rl_point - 1] != ' ' ? 1 : 0);
        for (size_t i = 0; i < N_COMMANDS; i++) {
            char buf[128];
            char *cw[16];
            snprintf(buf, sizeof buf, "%s", commands[i].words);
            int nc = ck_split_words(buf, cw, 16);
            bool fits = nc > done;
            for (int k = 0; k < done && fits; k++)
                fits = strcasecmp(cw[k], tw[k]) == 0;
            if (!fits || strncasecmp(cw[done], text, strlen(text)) != 0)
                continue;
            bool seen = false;
            for (size_t k = 0; k < ncand && !seen; k++)
                seen = strcmp(cands[k], cw[done]) == 0;
            if (!seen)
                snprintf(cands[ncand++], sizeof cands[0], "%s", cw[done]);
        }
    }
    return next < ncand ? strdup(cands[next++]) : NULL;
}

static char **complete(const char *text, int start, int end)
{
    rl_attempted_completion_over = 1;
    return rl_completion_matches(text, complete_word);
}

static int shell(admin *a)
{
    rl_attempted_completion_function = complete;
    printf("Welcome to the ctlkit admin shell of node %s (%s). Type 'help' for the commands.\n", a->node,
           a->publisher ? "publisher" : "subscriber");
    int last = CMD_OK;
    for (;;) {
        char *line = readline("admin:");
        if (!line) {
            printf("\n");
            break;
        }
        char *p = line;
        while (*p == ' ')
            p++;
        if (*p)
            add_history(p);
        if (strcasecmp(p, "quit") == 0 || strcasecmp(p, "exit") == 0) {
            free(line);
            break;
        }
        last = run_line(a, p);
        free(line);
        fflush(stdout);
    }
    return last;
}

int cmd_admin(int argc, char **argv)
{
    const char *dir = NULL, *node = NULL, *one_command = NULL, *node_dir = NULL;
    admin a = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--cluster") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            node_dir = argv[++i];
        else if (strcmp(argv[i], "--node") == 0 && i + 1 < argc)
            node = argv[++i];
        else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            one_command = argv[++i];
        else if (strcmp(argv[i], "--yes") == 0 || strcmp(argv[i], "-y") == 0)
            a.yes = true;
        else if (strcmp(argv[i], "--json") == 0)
            a.json = true;
        else {
            char shown[512]; /* it may be a cluster URL with its password */
            ck_store_mask_address(argv[i], shown, sizeof shown);
            cli_err("admin: unexpected argument '%s' (see --help)", shown);
            return EXIT_ERROR;
        }
    }
    /* The host's file fills what the flags left out. */
    ck_conf conf;
    ck_err cerr = {0};
    if (ck_conf_load(&conf, &cerr) < 0) {
        cli_err_ck(&cerr, "admin");
        return EXIT_ERROR;
    }
    if (conf.warning[0])
        fprintf(stderr, "ctlkit: warning: %s\n", conf.warning);
    ck_conf_apply(&conf, &dir, &node_dir, &node);
    if (!dir || !node) {
        cli_err("admin: needs --cluster DIR and --node NAME, or a configuration file that gives them (see --help)");
        return EXIT_ERROR;
    }
    if (ck_cluster_address_is_url(dir) && !node_dir) {
        cli_err("admin: a postgresql:// cluster needs --dir DIR, this node's folder on this host (see --help)");
        return EXIT_ERROR;
    }
    ck_err err = {0};
    const char *who = getenv("USER");
    char whobuf[128];
    snprintf(whobuf, sizeof whobuf, "%s@%s", who ? who : "admin", node);
    ck_cluster_where where = {.address = dir, .dir = node_dir, .node = node};
    if (ck_cluster_open_at(&where, whobuf, &a.c, &err) < 0) {
        cli_err_ck(&err, NULL);
        return EXIT_ERROR;
    }
    ck_node n;
    if (ck_store_get_node(ck_cluster_store(a.c), node, &n, &err) < 0) {
        cli_err_ck(&err, NULL);
        ck_cluster_close(a.c);
        return EXIT_ERROR;
    }
    snprintf(a.node, sizeof a.node, "%s", n.name);
    a.publisher = n.publisher;
    a.interactive = isatty(STDIN_FILENO);
    int rc = one_command ? run_line(&a, one_command) : shell(&a);
    ck_cluster_close(a.c);
    return rc;
}
