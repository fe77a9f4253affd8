/* libFuzzer target for the CAPF server's session state machine
 * (lib/cluster/capf_session.c) as a phone drives it: the first byte picks
 * the device row (operation, authentication mode, key), the rest is cut
 * into frames as the service cuts a TCP stream (ck_capf_frame_check; a bad
 * header is a frame of what is left) and fed to one session, in order.
 * Must hold: no crash, leak or UB (the sanitizers); every answer is one
 * frame that parses, with the session's id; nothing is answered after
 * END_SESSION; only REQUEST_IN_PROGRESS goes unanswered. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/capf.h"
#include "ctlkit/capf_server.h"
#include "ctlkit/x509.h"

#define SESSION 1u

static ck_device_row row;
static ck_capf_issuer iss;

static int fake_get(void *arg, const char *name, ck_device_row *out, ck_err *err)
{
    (void)arg;
    if (strcmp(name, row.name) != 0)
        return ck_fail(err, CK_ENOTFOUND, "no device named '%s'", name);
    *out = row;
    out->template_xml = NULL;
    out->lsc_pem = row.lsc_pem ? strdup(row.lsc_pem) : NULL;
    return 0;
}

static int fake_update(void *arg, const char *name, const ck_capf_update *u, ck_err *err)
{
    (void)arg, (void)err;
    if (strcmp(name, row.name) != 0)
        abort(); /* a session writes only the row it authenticated */
    ck_capf_update_apply(&row, u);
    return 0;
}

static void pick_row(uint8_t sel)
{
    static const char *const ops[] = {"install", "delete", "troubleshoot", "none"};
    static const char *const modes[] = {"null", "string", "lsc", "mic"};
    ck_device_row_clear(&row);
    memset(&row, 0, sizeof row);
    snprintf(row.name, sizeof row.name, "SEP001122334455");
    snprintf(row.operation, sizeof row.operation, "%s", ops[sel & 3]);
    snprintf(row.auth_mode, sizeof row.auth_mode, "%s", modes[(sel >> 2) & 3]);
    snprintf(row.auth_string, sizeof row.auth_string, "123456");
    bool ec = sel & 0x10;
    snprintf(row.key_type, sizeof row.key_type, "%s", ec ? "ec" : "rsa");
    row.key_size = ec ? 256 : 1024;
    row.completes_by = (sel & 0x20) ? 1 : 0; /* long past, or none */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!iss.cert) {
        ck_cert_params p = {.cn = "CAPF-fuzz", .ou = "CAPF", .o = "ctlkit", .curve = "P-256"};
        ck_err e = {0};
        if (ck_cert_generate(&p, &iss.cert, &iss.key, &e) < 0)
            abort();
    }
    if (size < 1)
        return 0;
    pick_row(data[0]);
    data++, size--;
    const ck_capf_devices db = {NULL, fake_get, fake_update};
    ck_capf_session s;
    ck_buf out;
    ck_err err = {0};
    ck_buf_init(&out, 0);
    if (ck_capf_session_begin(&s, SESSION, &out, &err) < 0)
        abort();
    uint64_t ms = 1000;
    while (size) {
        size_t flen = 0;
        ck_err fe = {0};
        ck_capf_frame f = ck_capf_frame_check(data, size, CK_CAPF_MAX_FRAME, &flen, &fe);
        if (f == CK_CAPF_FRAME_NEED_MORE)
            break;
        if (f == CK_CAPF_FRAME_BAD)
            flen = size;
        bool was_done = s.state == CK_CAPF_ST_DONE;
        bool in_progress = flen >= 2 && data[1] == CK_CAPF_REQUEST_IN_PROGRESS;
        out.len = 0;
        s.now = 1800000000;
        s.now_ms = ms;
        ms += 60000; /* a minute a frame: the key generation bound is reached too */
        if (ck_capf_session_feed(&s, &iss, &db, data, flen, &out, &err) < 0)
            abort();
        if (was_done && out.len)
            abort();
        if (!was_done && !out.len && !(in_progress && s.state == CK_CAPF_ST_KEYGEN))
            abort();
        if (out.len) {
            ck_capf_msg m;
            if (ck_capf_parse(out.data, out.len, &m, &err) < 0 || m.hdr.session != SESSION)
                abort();
            if ((m.hdr.command == CK_CAPF_END_SESSION) != (s.state == CK_CAPF_ST_DONE))
                abort();
        }
        data += flen;
        size -= flen;
    }
    ck_buf_free(&out);
    ck_device_row_clear(&row);
    return 0;
}
