/* The host's configuration file (include/ctlkit/conf.h). */
#include "ctlkit/conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctlkit/fileio.h"
#include "ctlkit/store.h"

/* A configuration file is a few lines; anything larger is not one. */
#define CONF_MAX_BYTES (64 * 1024)

static const char *trim(char *s, char **end)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
    *e = 0;
    *end = e;
    return s;
}

static int parse_line(char *line, const char *path, unsigned lineno, ck_conf *out, ck_err *err)
{
    char *end;
    const char *s = trim(line, &end);
    if (!*s || *s == '#')
        return 0;
    char *eq = strchr(s, '=');
    if (!eq)
        return ck_fail(err, CK_EFORMAT, "%s:%u: expected NAME = VALUE", path, lineno);
    *eq = 0;
    char *name_end, *value_end;
    const char *name = trim((char *)s, &name_end);
    char *value = (char *)trim(eq + 1, &value_end);
    if (value_end - value >= 2 && value[0] == '"' && value_end[-1] == '"') {
        value_end[-1] = 0;
        value++;
    }
    char *dst;
    size_t dstsz;
    if (strcmp(name, "cluster") == 0)
        dst = out->cluster, dstsz = sizeof out->cluster;
    else if (strcmp(name, "dir") == 0)
        dst = out->dir, dstsz = sizeof out->dir;
    else if (strcmp(name, "node") == 0)
        dst = out->node, dstsz = sizeof out->node;
    else
        return ck_fail(err, CK_EFORMAT, "%s:%u: unknown setting '%s' (cluster, dir or node)", path, lineno, name);
    if (!*value)
        return ck_fail(err, CK_EFORMAT, "%s:%u: %s has no value", path, lineno, name);
    if (*dst)
        return ck_fail(err, CK_EFORMAT, "%s:%u: %s is given twice", path, lineno, name);
    if (strlen(value) >= dstsz)
        return ck_fail(err, CK_EFORMAT, "%s:%u: the value of %s is too long", path, lineno, name);
    memcpy(dst, value, strlen(value) + 1);
    return 0;
}

int ck_conf_parse(const char *text, size_t len, const char *path, ck_conf *out, ck_err *err)
{
    memset(out, 0, sizeof *out);
    snprintf(out->path, sizeof out->path, "%s", path);
    unsigned lineno = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        lineno++;
        char line[2048];
        if (n >= sizeof line)
            return ck_fail(err, CK_EFORMAT, "%s:%u: line too long", path, lineno);
        memcpy(line, text + at, n);
        line[n] = 0;
        if (memchr(line, 0, n))
            return ck_fail(err, CK_EFORMAT, "%s:%u: not a text line", path, lineno);
        if (parse_line(line, path, lineno, out, err) < 0)
            return -1;
        at += n + (nl ? 1 : 0);
    }
    return 0;
}

int ck_conf_load(ck_conf *out, ck_err *err)
{
    memset(out, 0, sizeof *out);
    const char *env = getenv(CK_CONF_ENV);
    const char *path = env && *env ? env : CK_CONF_DEFAULT;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (!(env && *env) && errno == ENOENT)
            return 0;
        return ck_fail(err, CK_ENOTFOUND, "%s%s%s: %s", env && *env ? CK_CONF_ENV "=" : "", path,
                       env && *env ? "" : " (the configuration file)", strerror(errno));
    }
    uint8_t *data = NULL;
    size_t len = 0;
    if (ck_read_file(path, CONF_MAX_BYTES, &data, &len, err) < 0)
        return -1;
    int rc = ck_conf_parse((const char *)data, len, path, out, err);
    free(data);
    if (rc < 0)
        return -1;
    char masked[sizeof out->cluster];
    ck_store_mask_address(out->cluster, masked, sizeof masked);
    if ((st.st_mode & S_IROTH) && strcmp(masked, out->cluster) != 0)
        snprintf(out->warning, sizeof out->warning,
                 "%s is readable by every user and its cluster address carries a password: chmod o-r %s, or keep "
                 "the password in ~/.pgpass",
                 path, path);
    return 0;
}

void ck_conf_apply(const ck_conf *c, const char **cluster, const char **dir, const char **node)
{
    if (!c->cluster[0] && !c->dir[0] && !c->node[0])
        return;
    if (*cluster && c->cluster[0] && strcmp(*cluster, c->cluster) != 0)
        return; /* another cluster: the file's folder and node are not its */
    if (!*cluster && c->cluster[0])
        *cluster = c->cluster;
    if (!*dir && c->dir[0])
        *dir = c->dir;
    if (!*node && c->node[0])
        *node = c->node;
}
