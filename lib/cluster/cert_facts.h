/* The facts the store keeps next to a certificate (serial, subject,
 * issuer, expiry), read from the certificate here so that store backends
 * only store. */
#ifndef CTLKIT_CLUSTER_CERT_FACTS_H
#define CTLKIT_CLUSTER_CERT_FACTS_H

#include "ctlkit/store.h"

/* Fills *row (node and unit copied, pem duplicated, subject and issuer in
 * CUCM form) from a PEM certificate; free with ck_cert_row_clear. */
int ck_cert_row_from_pem(const char *pem, const char *node, const char *unit, ck_cert_row *row, ck_err *err);

#endif
