/* Certificate facts for store rows (cert_facts.h). */
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/x509.h"
#include "cert_facts.h"

int ck_cert_row_from_pem(const char *pem, const char *node, const char *unit, ck_cert_row *row, ck_err *err)
{
    memset(row, 0, sizeof *row);
    X509 *c = NULL;
    if (ck_load_pem_mem(pem, strlen(pem), &c, NULL, false, err) < 0)
        return -1;
    snprintf(row->node, sizeof row->node, "%s", node);
    snprintf(row->unit, sizeof row->unit, "%s", unit);
    ck_cert_serial_hex(c, row->serial, sizeof row->serial);
    row->subject = ck_name_cucm(X509_get_subject_name(c));
    row->issuer = ck_name_cucm(X509_get_issuer_name(c));
    row->pem = strdup(pem);
    if (!ck_asn1_time_seconds(X509_get0_notAfter(c), &row->not_after))
        row->not_after = 0;
    X509_free(c);
    if (!row->subject || !row->issuer || !row->pem) {
        ck_cert_row_clear(row);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    return 0;
}
