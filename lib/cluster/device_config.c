/* A phone's configuration file, SEP<MAC>.cnf.xml: the admin's template
 * (lines, call control: ctlkit does none) with the security elements that
 * follow from the device row and the cluster (section 4.1 of the CAPF and
 * configuration files notes; docs/phones-capf.md). The template's own
 * copies of those elements are replaced, everything else is kept as is. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/bytes.h"
#include "ctlkit/device.h"
#include "ctlkit/params.h"
#include "internal.h"

/* Used while no cluster-wide template has been set. */
static const char builtin_template[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                       "<device>\n"
                                       "<fullConfig>true</fullConfig>\n"
                                       "</device>\n";

/* The elements ctlkit writes: a template's own are dropped. */
static const char *const owned[] = {"deviceSecurityMode", "TVS",        "capfAuthMode", "capfList",
                                    "certHash",           "encrConfig", "callManagerGroup"};

int ck_cluster_device_template_get(ck_cluster *c, char **xml, ck_err *err)
{
    char *v = malloc(CK_DEVICE_TEMPLATE_MAX + 1);
    if (!v)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    ck_err e2 = {0};
    if (ck_store_get_param(c->store, CK_DEVICE_TEMPLATE_PARAM, v, CK_DEVICE_TEMPLATE_MAX + 1, &e2) < 0) {
        if (e2.code != CK_ENOTFOUND) {
            free(v);
            *err = e2;
            return -1;
        }
        v[0] = 0;
    }
    if (!v[0])
        snprintf(v, CK_DEVICE_TEMPLATE_MAX + 1, "%s", builtin_template);
    *xml = v;
    return 0;
}

int ck_device_config_context(ck_cluster *c, ck_device_config_ctx *ctx, ck_err *err)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->mixed = ck_cluster_security_mode(c) != 0;
    ck_node pub;
    char port[16];
    long long p;
    const ck_param_def *def = ck_param_find("CAPFPhonePort");
    if (ck_store_get_param(c->store, def->name, port, sizeof port, NULL) != 0 ||
        !ck_parse_ll(port, def->min, def->max, &p))
        ck_parse_ll(def->default_value, def->min, def->max, &p);
    ctx->capf_port = (int)p;
    if (ck_store_publisher(c->store, &pub, err) < 0 || ck_store_list_nodes(c->store, &ctx->nodes, &ctx->n_nodes, err) < 0 ||
        ck_cluster_device_template_get(c, &ctx->cluster_template, err) < 0) {
        ck_device_config_ctx_clear(ctx);
        return -1;
    }
    snprintf(ctx->capf_host, sizeof ctx->capf_host, "%s", pub.ip);
    return 0;
}

void ck_device_config_ctx_clear(ck_device_config_ctx *ctx)
{
    free(ctx->nodes);
    free(ctx->cluster_template);
    memset(ctx, 0, sizeof *ctx);
}

int ck_device_security_mode(const ck_device_row *d, bool mixed)
{
    if (!mixed || strcmp(d->profile, "authenticated") != 0)
        return mixed && strcmp(d->profile, "encrypted") == 0 ? 3 : 1;
    return 2;
}

int ck_device_capf_auth_mode(const ck_device_row *d)
{
    static const char *const modes[] = {"string", "null", "lsc", "mic"};
    if (strcmp(d->operation, "none") == 0)
        return 0;
    for (int i = 0; i < 4; i++)
        if (strcmp(d->auth_mode, modes[i]) == 0)
            return i + 1;
    return 0;
}

static void put(ck_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(ck_buf *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ck_buf_bytes(b, line, n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* The start of the element `name` at or after p (a tag named exactly so,
 * not a longer name that begins alike), or NULL. */
static const char *find_tag(const char *p, const char *name)
{
    size_t n = strlen(name);
    for (const char *t = p; (t = strchr(t, '<')) != NULL; t++)
        if (strncmp(t + 1, name, n) == 0 && (t[1 + n] == '>' || t[1 + n] == '/' || isspace((unsigned char)t[1 + n])))
            return t;
    return NULL;
}

/* Where the element starting at t ends (after "/>" or its closing tag),
 * or NULL when it is not closed. */
static const char *element_end(const char *t, const char *name)
{
    const char *gt = strchr(t, '>');
    if (!gt)
        return NULL;
    if (gt[-1] == '/')
        return gt + 1;
    char close[64];
    snprintf(close, sizeof close, "</%s>", name);
    const char *e = strstr(gt, close);
    return e ? e + strlen(close) : NULL;
}

/* Copies xml without the owned elements (and the blanks that followed
 * them up to the line's end). */
static char *drop_owned(const char *xml, ck_err *err)
{
    char *out = strdup(xml);
    if (!out) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) {
        const char *t;
        while ((t = find_tag(out, owned[i])) != NULL) {
            const char *e = element_end(t, owned[i]);
            if (!e) {
                free(out);
                ck_fail(err, CK_EINVAL, "the configuration template's <%s> is not closed", owned[i]);
                return NULL;
            }
            while (*e == ' ' || *e == '\t' || *e == '\r')
                e++;
            if (*e == '\n')
                e++;
            memmove((char *)t, e, strlen(e) + 1);
        }
    }
    return out;
}

static void put_callmanager_group(ck_buf *b, const ck_device_config_ctx *ctx)
{
    put(b, "<callManagerGroup>\n<members>\n");
    for (size_t i = 0; i < ctx->n_nodes; i++)
        put(b,
            "<member priority=\"%zu\">\n<callManager>\n<name>%s</name>\n<ports>\n<ethernetPhonePort>2000</ethernetPhonePort>\n"
            "<sipPort>5060</sipPort>\n<securedSipPort>5061</securedSipPort>\n</ports>\n"
            "<processNodeName>%s</processNodeName>\n</callManager>\n</member>\n",
            i, ctx->nodes[i].name, ctx->nodes[i].ip);
    put(b, "</members>\n</callManagerGroup>\n");
}

int ck_device_config_xml(const ck_device_config_ctx *ctx, const ck_device_row *d, char **xml, size_t *len,
                         ck_err *err)
{
    const char *tmpl = d->template_xml ? d->template_xml : ctx->cluster_template;
    if (ck_device_check_template(tmpl, err) < 0) {
        ck_err_prefix(err, "%s", d->name);
        return -1;
    }
    char *base = drop_owned(tmpl, err);
    if (!base)
        return -1;
    const char *dev = find_tag(base, "device");
    if (!dev || !strchr(dev, '>')) {
        free(base);
        return ck_fail(err, CK_EINVAL, "%s: the configuration template has no <device> element", d->name);
    }
    const char *body = strchr(dev, '>') + 1;
    const char *pool = find_tag(body, "devicePool");
    const char *pool_body = pool ? strchr(pool, '>') : NULL;
    if (pool_body && pool_body[-1] == '/') {
        free(base);
        return ck_fail(err, CK_EINVAL, "%s: the configuration template's <devicePool/> is empty; give it a body or "
                                       "leave it out", d->name);
    }
    /* The security elements go first in <device>, each on its line. */
    const char *rest = *body == '\n' ? body + 1 : body;
    ck_buf b;
    ck_buf_init(&b, 2 * CK_DEVICE_TEMPLATE_MAX);
    ck_buf_bytes(&b, base, (size_t)(rest - base));
    put(&b, "%s<deviceSecurityMode>%d</deviceSecurityMode>\n", rest == body ? "\n" : "",
        ck_device_security_mode(d, ctx->mixed));
    put(&b, "<TVS>\n<members>\n");
    for (size_t i = 0; i < ctx->n_nodes; i++)
        put(&b, "<member priority=\"%zu\">\n<port>%d</port>\n<address>%s</address>\n</member>\n", i,
            ctx->nodes[i].tvs_port, ctx->nodes[i].ip);
    put(&b, "</members>\n</TVS>\n");
    put(&b, "<capfAuthMode>%d</capfAuthMode>\n", ck_device_capf_auth_mode(d));
    put(&b, "<capfList>\n<capf>\n<phonePort>%d</phonePort>\n<processNodeName>%s</processNodeName>\n</capf>\n"
            "</capfList>\n",
        ctx->capf_port, ctx->capf_host);
    /* Empty in a full configuration; the encrypted-config stub carries the
     * MD5 of the phone's certificate there (made with the .enc.sgn). */
    put(&b, "<certHash></certHash>\n<encrConfig>false</encrConfig>\n");
    if (!pool) {
        put(&b, "<devicePool>\n");
        put_callmanager_group(&b, ctx);
        put(&b, "</devicePool>\n");
        ck_buf_bytes(&b, rest, strlen(rest));
    } else {
        ck_buf_bytes(&b, rest, (size_t)(pool_body + 1 - rest));
        put(&b, "\n");
        put_callmanager_group(&b, ctx);
        ck_buf_bytes(&b, pool_body + 1, strlen(pool_body + 1));
    }
    ck_buf_u8(&b, 0);
    free(base);
    size_t n = 0;
    bool failed = b.failed;
    uint8_t *out = failed ? NULL : ck_buf_take(&b, &n);
    ck_buf_free(&b);
    if (!out)
        return ck_fail(err, CK_ELIMIT, "%s: the configuration file would be too large", d->name);
    *xml = (char *)out;
    *len = n - 1;
    return 0;
}
