/* Reading the few elements a phone acts on out of SEP<MAC>.cnf.xml. The
 * file is the cluster's (signed, or decrypted and checked), so a plain
 * search for each element is enough: the phone needs no XML tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnf.h"

/* The text of the first <name>...</name> at or after from (copied into
 * out), or NULL. Returns where the element ends. */
static const char *element_text(const char *from, const char *end, const char *name, char *out, size_t outsz)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", name);
    snprintf(close, sizeof close, "</%s>", name);
    size_t ol = strlen(open);
    for (const char *p = from; p + ol <= end; p++) {
        if (memcmp(p, open, ol) != 0)
            continue;
        const char *v = p + ol;
        size_t cl = strlen(close);
        for (const char *q = v; q + cl <= end; q++)
            if (memcmp(q, close, cl) == 0) {
                size_t n = (size_t)(q - v);
                if (n >= outsz)
                    n = outsz - 1;
                memcpy(out, v, n);
                out[n] = 0;
                return q + cl;
            }
        return NULL;
    }
    return NULL;
}

static int int_of(const char *xml, const char *end, const char *name)
{
    char v[16];
    return element_text(xml, end, name, v, sizeof v) ? atoi(v) : 0;
}

void ph_cnf_read(const uint8_t *xml, size_t len, ph_cnf *c, ph_cnf_stub *stub)
{
    const char *p = (const char *)xml, *end = p + len;
    memset(c, 0, sizeof *c);
    c->known = true;
    c->security_mode = int_of(p, end, "deviceSecurityMode");
    c->capf_auth_mode = int_of(p, end, "capfAuthMode");
    char list[1024];
    if (element_text(p, end, "capfList", list, sizeof list)) {
        const char *le = list + strlen(list);
        element_text(list, le, "processNodeName", c->capf_host, sizeof c->capf_host);
        c->capf_port = int_of(list, le, "phonePort");
    }
    if (stub) {
        char v[16];
        memset(stub, 0, sizeof *stub);
        stub->encr_config = element_text(p, end, "encrConfig", v, sizeof v) && strcmp(v, "true") == 0;
        element_text(p, end, "certHash", stub->cert_hash, sizeof stub->cert_hash);
    }
}

const char *ph_cnf_mode_name(int m)
{
    switch (m) {
    case 1: return "non-secure";
    case 2: return "authenticated";
    case 3: return "encrypted";
    }
    return "unknown";
}
