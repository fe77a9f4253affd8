/* libFuzzer target for the CTL Provider codec: any bytes through
 * ck_pv_header and ck_pv_parse; what parses must rebuild and parse back to
 * the same message (the builder writes a canonical element order, so the
 * bytes may differ but the facts may not). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/provider.h"

static void same(const ck_pv_msg *a, const ck_pv_msg *b)
{
    if (a->type != b->type || strcmp(a->user, b->user) != 0 || strcmp(a->password, b->password) != 0 ||
        a->action != b->action || a->status != b->status || strcmp(a->message, b->message) != 0 ||
        a->n_nodes != b->n_nodes || a->n_results != b->n_results || a->ctl.n != b->ctl.n ||
        (a->ctl.n && memcmp(a->ctl.p, b->ctl.p, a->ctl.n) != 0))
        abort();
    for (size_t i = 0; i < a->n_nodes; i++) {
        const ck_pv_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (strcmp(x->name, y->name) != 0 || strcmp(x->ip, y->ip) != 0 || x->publisher != y->publisher ||
            x->ccm_cert.n != y->ccm_cert.n || memcmp(x->ccm_cert.p, y->ccm_cert.p, x->ccm_cert.n) != 0 ||
            x->capf_cert.n != y->capf_cert.n)
            abort();
    }
    for (size_t i = 0; i < a->n_results; i++)
        if (strcmp(a->results[i].name, b->results[i].name) != 0 ||
            strcmp(a->results[i].location, b->results[i].location) != 0 ||
            a->results[i].passed != b->results[i].passed)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t type;
    uint32_t body;
    ck_err err;
    if (size >= CK_PV_HDR_LEN)
        (void)ck_pv_header(data, CK_PV_HDR_LEN, &type, &body, &err);
    ck_pv_msg m;
    if (ck_pv_parse(data, size, &m, &err) != 0)
        return 0;
    uint8_t *out = NULL;
    size_t n = 0;
    /* A parsed message always rebuilds: every value is within the limits. */
    if (ck_pv_build(&m, &out, &n, &err) != 0)
        abort();
    ck_pv_msg again;
    if (ck_pv_parse(out, n, &again, &err) != 0)
        abort();
    same(&m, &again);
    ck_pv_msg_clear(&again);
    ck_pv_msg_clear(&m);
    free(out);
    return 0;
}
