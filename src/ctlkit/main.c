/* ctlkit: one program, subcommands (docs/cli.md). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: ctlkit COMMAND [ARGS]\n"
    "\n"
    "Trust lists (CTL/ITL) and signed files:\n"
    "  cert new OUT.pem --cn NAME ...   create a self-signed certificate and key\n"
    "  tlv build OUT.tlv --sast PEM ... build and sign a CTL or ITL\n"
    "  tlv show FILE [--json]           print a CTL/ITL as CUCM's `show ctl` does\n"
    "  tlv verify FILE                  check a CTL/ITL signature (exit 0 valid, 1 invalid, 2 malformed)\n"
    "  sgn build|show|verify|strip      .sgn signed files\n"
    "\n"
    "Clusters:\n"
    "  cluster init DIR --publisher NAME=IP [--subscriber NAME=IP ...]\n"
    "  cluster status DIR [--json]\n"
    "  admin --cluster DIR --node NAME [-c 'COMMAND'] [--yes]   the admin: shell\n"
    "  user add|passwd|remove|list --cluster DIR [USER] [--role admin|read-only]   cluster users\n"
    "  rehearse --cluster DIR --node NAME [--json] -- 'COMMAND' ...   what a change does to the known phones\n"
    "\n"
    "Phones:\n"
    "  device add|capf|show|list|remove|import|template --cluster C ...   phones, CAPF, configuration files\n"
    "\n"
    "USB eTokens and the CTL Client:\n"
    "  token list|show|export --module PATH [--token LABEL] [--out FILE.pem]\n"
    "  provider passwd --cluster DIR USER      CTL Provider admin password\n"
    "  ctl-client --host ADDR[:PORT] --user NAME --module PATH ...   the CTL Client\n"
    "\n"
    "Every command takes --help.\n";

void cli_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ctlkit: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void cli_err_ck(const ck_err *err, const char *prefix)
{
    if (prefix)
        fprintf(stderr, "ctlkit: %s: %s\n", prefix, err->msg);
    else
        fprintf(stderr, "ctlkit: %s\n", err->msg);
}

bool cli_wants_help(int argc, char **argv, const char *text)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(text, stdout);
            return true;
        }
    return false;
}

int cli_dispatch(const char *command, int argc, char **argv, const char *text, const cli_sub *subs, size_t n)
{
    if (argc < 2) {
        fputs(text, stderr);
        return EXIT_ERROR;
    }
    if (cli_wants_help(argc, argv, text))
        return EXIT_OK;
    for (size_t i = 0; i < n; i++)
        if (strcmp(argv[1], subs[i].name) == 0)
            return subs[i].fn(argc - 1, argv + 1);
    char names[256] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", subs[i].name);
    cli_err("%s: unknown subcommand '%s' (%s)", command, argv[1], names);
    return EXIT_ERROR;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_ERROR;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("ctlkit %s\n", CTLKIT_VERSION);
        return EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"cert", cmd_cert}, {"tlv", cmd_tlv}, {"sgn", cmd_sgn}, {"cluster", cmd_cluster}, {"admin", cmd_admin},
      {"token", cmd_token}, {"provider", cmd_provider}, {"user", cmd_user}, {"ctl-client", cmd_ctl_client},
      {"device", cmd_device}, {"rehearse", cmd_rehearse}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmd, cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    cli_err("unknown command '%s' (try ctlkit --help)", cmd);
    return EXIT_ERROR;
}
