/* libFuzzer target for the CTL/ITL parser: any bytes through ck_tl_parse;
 * what parses must hold together (records tile the file after the header,
 * every span inside the private copy, a signer record that is a SAST), must
 * survive verification and both renderings. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/trustlist.h"

static void check_span(const ck_tl_file *f, ck_span s)
{
    if (s.p && (s.p < f->raw || s.p + s.n > f->raw + f->raw_len))
        abort();
}

static void check_invariants(const ck_tl_file *f, size_t size)
{
    if (f->raw_len != size || f->header_len > size || f->n_records == 0)
        abort();
    if (f->signer_index < 0 || (size_t)f->signer_index >= f->n_records ||
        f->records[f->signer_index].function != CK_ROLE_SAST)
        abort();
    if (f->sig_elem_off + 3 + f->signature.n > f->header_len)
        abort();
    size_t pos = f->header_len, sast = 0;
    for (size_t i = 0; i < f->n_records; i++) {
        const ck_tl_record *r = &f->records[i];
        if (r->offset != pos || r->length < 5 || r->elem_first + r->elem_count > f->n_elems)
            abort();
        pos += r->length;
        sast += r->function == CK_ROLE_SAST;
        const ck_span spans[] = {r->dns_name, r->subject, r->issuer, r->serial,
                                 r->pubkey,   r->cert_signature, r->cert, r->cert_hash};
        for (size_t k = 0; k < sizeof spans / sizeof spans[0]; k++)
            check_span(f, spans[k]);
    }
    if (pos != size || sast > CK_TL_MAX_SAST)
        abort();
    for (size_t i = 0; i < f->n_elems; i++)
        if (f->elems[i].off >= size)
            abort();
    check_span(f, f->signer_name);
    check_span(f, f->signer_serial);
    check_span(f, f->signer_issuer);
    check_span(f, f->filename);
    check_span(f, f->signature);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ck_tl_file *f = NULL;
    ck_err err = {0};
    if (ck_tl_parse(data, size, &f, &err) < 0) {
        if (f || !err.msg[0] || (err.code != CK_EFORMAT && err.code != CK_ELIMIT))
            abort();
        return 0;
    }
    check_invariants(f, size);
    ck_err verr = {0};
    ck_tl_show_info info = {0};
    info.verified = ck_tl_verify(f, &verr) == 0;
    if (!info.verified && (verr.code == CK_OK || !verr.msg[0]))
        abort();
    info.verify_error = info.verified ? NULL : verr.msg;

    char *text = NULL;
    size_t text_len = 0;
    FILE *m = open_memstream(&text, &text_len);
    if (m) {
        ck_tl_show_text(m, data, size, f, &info, NULL);
        fclose(m);
        free(text);
    }
    char *json = ck_tl_show_json(data, size, f, &info, NULL);
    if (!json)
        abort();
    free(json);
    ck_tl_free(f);
    return 0;
}
