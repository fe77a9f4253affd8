/* The admin commands a rehearsal knows, run on the copy through the same
 * library operations the admin shell calls (include/ctlkit/rehearse.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctlkit/fileio.h"
#include "ctlkit/text.h"
#include "rehearse_internal.h"

#define MAX_WORDS 32

typedef int (*rh_fn)(ck_cluster *c, const char *node, int argc, char **argv, ck_err *err);

typedef struct rh_command {
    const char *words;
    int min_args, max_args;
    rh_fn fn;
} rh_command;

static int refusal(ck_cluster_refusal r, const char *node, ck_err *err)
{
    switch (r) {
    case CK_REFUSAL_NONE: return 0;
    case CK_REFUSAL_SUBSCRIBER:
        return ck_fail(err, CK_ESTATE, "this command can only be run on the publisher; %s is a subscriber", node);
    case CK_REFUSAL_NONSECURE:
        return ck_fail(err, CK_ESTATE, "the cluster is in non-secure mode: there is no CTL to update");
    default: return -1; /* err was filled */
    }
}

static int regen(ck_cluster *c, const char *node, int argc, char **argv, ck_err *err)
{
    const char *digest = NULL;
    if (argc == 3 && strcmp(argv[1], "--digest") == 0)
        digest = argv[2];
    else if (argc != 1)
        return ck_fail(err, CK_EINVAL, "usage: set cert regen UNIT [--digest sha256|sha1]");
    char warning[2048];
    return ck_cluster_regen_cert(c, node, argv[0], digest, warning, sizeof warning, err);
}

static int update_ctl(ck_cluster *c, const char *node, int argc, char **argv, ck_err *err)
{
    if (refusal(ck_cluster_ctl_updatable(c, node, err), node, err) < 0)
        return -1;
    return ck_cluster_update_ctl(c, node, err);
}

static int set_mixed(ck_cluster *c, const char *node, int argc, char **argv, ck_err *err)
{
    if (refusal(ck_cluster_publisher_only(c, node, err), node, err) < 0)
        return -1;
    return ck_cluster_security_mode(c) ? 0 : ck_cluster_set_mixed_mode(c, node, err);
}

static int set_nonsecure(ck_cluster *c, const char *node, int argc, char **argv, ck_err *err)
{
    if (refusal(ck_cluster_publisher_only(c, node, err), node, err) < 0)
        return -1;
    return ck_cluster_security_mode(c) ? ck_cluster_set_nonsecure_mode(c, node, err) : 0;
}

static int ctl_reset(ck_cluster *c, const char *node, int argc, char **argv, ck_err *err)
{
    if (refusal(ck_cluster_ctl_updatable(c, node, err), node, err) < 0)
        return -1;
    return ck_cluster_ctl_reset_localkey(c, node, err);
}

static int itl_reset(ck_cluster *c, const char *node, int argc, char **argv, ck_err *err)
{
    const char *key_node = NULL;
    if (strcasecmp(argv[0], "remotekey") == 0 && argc == 2)
        key_node = argv[1];
    else if (strcasecmp(argv[0], "localkey") != 0 || argc != 1)
        return ck_fail(err, CK_EINVAL, "usage: utils itl reset localkey | remotekey NODE");
    size_t n = 0;
    char skipped[512];
    return ck_cluster_itl_reset(c, node, key_node, &n, skipped, sizeof skipped, err);
}

static int import_trust(ck_cluster *c, const char *node, int argc, char **argv, ck_err *err)
{
    if (!ck_cluster_trust_purpose(argv[0]))
        return ck_fail(err, CK_EINVAL, "unknown trust store '%s' (" CK_TRUST_PURPOSE_NAMES ")", argv[0]);
    char desc[256] = "";
    for (int i = 2; i < argc; i++)
        snprintf(desc + strlen(desc), sizeof desc - strlen(desc), "%s%s", i > 2 ? " " : "", argv[i]);
    uint8_t *pem = NULL;
    size_t len = 0;
    if (ck_read_file(argv[1], 1u << 20, &pem, &len, err) < 0)
        return -1;
    char *text = malloc(len + 1);
    if (!text) {
        free(pem);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    memcpy(text, pem, len);
    text[len] = '\0';
    free(pem);
    int rc = ck_cluster_import_trust(c, node, argv[0], text, desc, err);
    free(text);
    return rc;
}

static int delete_trust(ck_cluster *c, const char *node, int argc, char **argv, ck_err *err)
{
    int deleted = 0;
    if (ck_cluster_delete_trust(c, node, argv[0], argv[1], &deleted, err) < 0)
        return -1;
    return deleted ? 0 : ck_fail(err, CK_ENOTFOUND, "no certificate with serial %s in %s", argv[1], argv[0]);
}

static int set_param(ck_cluster *c, const char *node, int argc, char **argv, ck_err *err)
{
    return ck_cluster_set_param(c, node, argv[0], argv[1], err);
}

/* A restart on the copy: what the rehearsal does after the last command
 * anyway (every stale ITL of a node here is rebuilt, as its starting TFTP
 * service would); only the name is checked. */
static int restart(ck_cluster *c, const char *node, int argc, char **argv, ck_err *err)
{
    if (!ck_cluster_service_name(argv[0]))
        return ck_fail(err, CK_EINVAL, "unknown service '%s' (\"%s\" or \"%s\")", argv[0], CK_SERVICE_TFTP,
                       CK_SERVICE_TVS);
    return 0;
}

static const rh_command commands[] = {
    {"set cert regen", 1, 3, regen},
    {"utils ctl update CTLFile", 0, 0, update_ctl},
    {"utils ctl set-cluster mixed-mode", 0, 0, set_mixed},
    {"utils ctl set-cluster non-secure-mode", 0, 0, set_nonsecure},
    {"utils ctl reset localkey", 0, 0, ctl_reset},
    {"utils itl reset", 1, 2, itl_reset},
    {"set cert import trust", 2, MAX_WORDS, import_trust},
    {"set cert delete trust", 2, 2, delete_trust},
    {"set param", 2, 2, set_param},
    {"utils service restart", 1, 1, restart},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

/* How many of argv's first words are the command's words (0: not it). */
static int match(const rh_command *cmd, int argc, char **argv)
{
    char buf[128], *save = NULL;
    snprintf(buf, sizeof buf, "%s", cmd->words);
    int i = 0;
    for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save), i++)
        if (i >= argc || strcasecmp(w, argv[i]) != 0)
            return 0;
    return i;
}

static const rh_command *find(const char *command, char *line, size_t linesz, int *argc, char **argv, ck_err *err)
{
    if (snprintf(line, linesz, "%s", command) >= (int)linesz)
        return ck_fail(err, CK_EINVAL, "command too long: '%.40s...'", command), NULL;
    int n = ck_split_words(line, argv, MAX_WORDS);
    if (n <= 0)
        return ck_fail(err, CK_EINVAL, n == 0 ? "empty command" : "'%s': unbalanced quotes or too many words",
                       command), NULL;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        int m = match(&commands[i], n, argv);
        if (!m)
            continue;
        if (n - m < commands[i].min_args || n - m > commands[i].max_args)
            return ck_fail(err, CK_EINVAL, "'%s': wrong number of arguments for '%s'", command, commands[i].words),
                   NULL;
        *argc = n - m;
        memmove(argv, argv + m, (size_t)(n - m) * sizeof *argv);
        return &commands[i];
    }
    ck_fail(err, CK_EINVAL,
            "'%s' is not a command a rehearsal knows (set cert regen, utils ctl update CTLFile, utils ctl "
            "set-cluster, utils ctl reset localkey, utils itl reset, set cert import|delete trust, set param, "
            "utils service restart)",
            command);
    return NULL;
}

int ck_rehearse_check_command(const char *command, ck_err *err)
{
    char line[4096], *argv[MAX_WORDS];
    int argc = 0;
    return find(command, line, sizeof line, &argc, argv, err) ? 0 : -1;
}

int ck__rh_run_command(ck_cluster *c, const char *node, const char *command, ck_err *err)
{
    char line[4096], *argv[MAX_WORDS];
    int argc = 0;
    const rh_command *cmd = find(command, line, sizeof line, &argc, argv, err);
    return cmd ? cmd->fn(c, node, argc, argv, err) : -1;
}
