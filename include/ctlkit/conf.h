/* The host's ctlkit configuration file: which cluster, which node folder
 * and which node `ctlkit admin` and `ctlkitd` use when the command line
 * does not say, so that on a real host they need no flags (as logging in
 * to CUCM's CLI). One parser for both programs.
 *
 *   # /etc/ctlkit/ctlkit.conf (or the file $CTLKIT_CONF names)
 *   cluster = postgresql://ctlkit@db.example.net/cluster1
 *   dir     = /var/lib/ctlkit/node
 *   node    = cucm-sub1
 *
 * One NAME = VALUE per line; blank lines and lines starting with '#' are
 * skipped (a '#' later in a line is part of the value: passwords may hold
 * one); a value may be wrapped in double quotes. Anything else is an error
 * naming the file and the line. */
#ifndef CTLKIT_CONF_H
#define CTLKIT_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "ctlkit/error.h"

#define CK_CONF_DEFAULT "/etc/ctlkit/ctlkit.conf"
#define CK_CONF_ENV "CTLKIT_CONF"
/* Paths in the file: PATH_MAX on Linux, spelled out so that the header
 * needs no POSIX feature macro. */
#define CK_CONF_PATH_MAX 4096

typedef struct ck_conf {
    char path[CK_CONF_PATH_MAX]; /* the file read; "" when there was none */
    char cluster[1024];  /* "" when the file does not say */
    char dir[CK_CONF_PATH_MAX];
    char node[64];
    /* Set when the file is readable by every user and its cluster address
     * carries a password: what to tell the admin (the password not shown). */
    char warning[CK_CONF_PATH_MAX + 160];
} ck_conf;

/* Parses the text of a configuration file (path names it in messages). */
int ck_conf_parse(const char *text, size_t len, const char *path, ck_conf *out, ck_err *err);
/* Reads $CTLKIT_CONF when set (a file that cannot be read is an error),
 * else CK_CONF_DEFAULT when it exists; no file leaves out empty. */
int ck_conf_load(ck_conf *out, ck_err *err);
/* Fills each of *cluster, *dir, *node that the command line left NULL
 * from the file: flags win. When the command line names another cluster
 * than the file's, the file's dir and node (which belong to its own
 * cluster) are not used either. The strings live as long as c. */
void ck_conf_apply(const ck_conf *c, const char **cluster, const char **dir, const char **node);

#endif
