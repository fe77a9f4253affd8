/* A phone enrolling from its configuration (capf_enrol.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capf_enrol.h"
#include "ctlkit/capf.h"
#include "ctlkit/fileio.h"

int ph_phone_load_certs(const char *dir, ph_phone *p, ck_err *err)
{
    X509_free(p->lsc);
    X509_free(p->mic);
    EVP_PKEY_free(p->lsc_key);
    EVP_PKEY_free(p->mic_key);
    p->lsc = p->mic = NULL;
    p->lsc_key = p->mic_key = NULL;
    return ph_cert_load(dir, PH_LSC_FILE, &p->lsc, &p->lsc_key, err) < 0 ||
                   ph_cert_load(dir, PH_MIC_FILE, &p->mic, &p->mic_key, err) < 0
               ? -1
               : 0;
}

/* The CAPF records of the phone's CTL and ITL, parsed into out (at most
 * max); returns how many. */
static size_t capf_anchors(const ph_phone *p, X509 **out, size_t max)
{
    const ph_list *lists[2] = {p->ctl, p->itl};
    size_t n = 0;
    for (int i = 0; i < 2; i++) {
        const ck_tl_file *f = lists[i] ? lists[i]->parsed : NULL;
        for (size_t k = 0; f && k < f->n_records && n < max; k++) {
            const ck_tl_record *r = &f->records[k];
            if (!r->has_function || r->function != CK_ROLE_CAPF || !r->cert.n)
                continue;
            const unsigned char *d = r->cert.p;
            X509 *x = d2i_X509(NULL, &d, (long)r->cert.n);
            if (x)
                out[n++] = x;
        }
    }
    return n;
}

int ph_capf_enrol(const char *dir, ph_phone *p, const ck_netaddr *source, const char *auth_string,
                  EVP_PKEY *given_key, unsigned timeout_ms, unsigned deadline_ms, ph_enrol *what, ph_capf_result *r,
                  bool *stored, ck_err *err)
{
    memset(r, 0, sizeof *r);
    *stored = false;
    *what = PH_ENROL_NONE;
    const ph_cnf *c = &p->cnf;
    if (!c->known || c->capf_auth_mode == 0 || !c->capf_host[0] || c->capf_port <= 0)
        return 0;
    if (c->capf_auth_mode == 1 && !auth_string) {
        *what = PH_ENROL_NEEDS_STRING;
        return 0;
    }
    char text[96], device[16];
    snprintf(text, sizeof text, "%s:%d", c->capf_host, c->capf_port);
    snprintf(device, sizeof device, "SEP%s", p->mac);
    ph_addr server;
    if (ph_addr_parse(text, &server, err) < 0) {
        ck_err_prefix(err, "capfList");
        return -1;
    }
    X509 *anchors[16];
    size_t n = capf_anchors(p, anchors, sizeof anchors / sizeof anchors[0]);
    ph_capf_cfg cfg = {.model = p->model, .device = device, .server = &server, .source = source, .trust_certs = anchors,
                       .n_trust_certs = n, .auth_string = c->capf_auth_mode == 1 ? auth_string : NULL,
                       .lsc = p->lsc, .mic = p->mic, .lsc_key = p->lsc_key, .mic_key = p->mic_key,
                       .given_key = given_key, .timeout_ms = timeout_ms, .deadline_ms = deadline_ms};
    int rc = ph_capf_run(&cfg, r, err);
    for (size_t i = 0; i < n; i++)
        X509_free(anchors[i]);
    if (rc < 0)
        return -1;
    *what = PH_ENROL_RAN;
    if (r->new_lsc && r->end_reason == CK_CAPF_REASON_UPDATE) {
        /* A first boot's folder may not exist yet. */
        if (ck_mkdirs(dir, 0700, err) < 0 || ph_lsc_save(dir, r->new_key, r->new_lsc, err) < 0)
            return -1;
        *stored = true;
        X509_free(p->lsc);
        EVP_PKEY_free(p->lsc_key);
        p->lsc = r->new_lsc;
        p->lsc_key = r->new_key;
        r->new_lsc = NULL;
        r->new_key = NULL;
    } else if (r->deleted && r->end_reason == CK_CAPF_REASON_UPDATE) {
        if (ph_lsc_remove(dir, err) < 0)
            return -1;
        X509_free(p->lsc);
        EVP_PKEY_free(p->lsc_key);
        p->lsc = NULL;
        p->lsc_key = NULL;
    }
    return 0;
}
