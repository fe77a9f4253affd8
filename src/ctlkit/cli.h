/* Shared pieces of the ctlkit command: subcommand table and error output. */
#ifndef CTLKIT_CLI_H
#define CTLKIT_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "ctlkit/error.h"

/* Exit codes common to all subcommands. */
enum { EXIT_OK = 0, EXIT_INVALID = 1, EXIT_ERROR = 2 };

/* Prints "ctlkit: <message>" on stderr, one line. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "ctlkit: <prefix>: <err message>" on stderr. */
void cli_err_ck(const ck_err *err, const char *prefix);
/* True when argv holds --help or -h; prints usage then. */
bool cli_wants_help(int argc, char **argv, const char *usage);

/* A command's subcommands: "build", its handler (called with argv[0] the
 * subcommand's name). */
typedef struct cli_sub {
    const char *name;
    int (*fn)(int argc, char **argv);
} cli_sub;
/* Runs argv[1] from subs; handles --help and -h (usage on stdout, exit 0),
 * a missing or unknown subcommand (usage or one line on stderr, exit 2). */
int cli_dispatch(const char *command, int argc, char **argv, const char *usage, const cli_sub *subs, size_t n);

int cmd_cert(int argc, char **argv);
int cmd_tlv(int argc, char **argv);
int cmd_sgn(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
int cmd_admin(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_provider(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_ctl_client(int argc, char **argv);
int cmd_device(int argc, char **argv);
int cmd_rehearse(int argc, char **argv);

#endif
