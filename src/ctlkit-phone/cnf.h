/* What a phone reads from its configuration file (docs/phones-capf.md,
 * "Phones enrol from their configuration"): the security mode, the CAPF
 * fields, and whether the signed file is the stub of an encrypted one. */
#ifndef PHONE_CNF_H
#define PHONE_CNF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ph_cnf {
    bool known;              /* a configuration was read at the last boot */
    int security_mode;       /* deviceSecurityMode: 1 non-secure, 2 authenticated, 3 encrypted */
    bool encrypted;          /* it came encrypted (.enc.sgn) */
    int capf_auth_mode;      /* capfAuthMode: 0 no operation, 1 string, 2 null, 3 LSC, 4 MIC */
    char capf_host[64];      /* the first capfList entry: processNodeName */
    int capf_port;           /* and phonePort; 0 when none */
} ph_cnf;

/* The stub .sgn's view: encrConfig true and the certHash it names. */
typedef struct ph_cnf_stub {
    bool encr_config;
    char cert_hash[33];      /* MD5 of the certificate it was encrypted for, lower-case hex */
} ph_cnf_stub;

/* Reads the fields from xml (not NUL-terminated); absent ones stay 0. */
void ph_cnf_read(const uint8_t *xml, size_t len, ph_cnf *c, ph_cnf_stub *stub);

/* "non-secure", "authenticated", "encrypted" or "unknown". */
const char *ph_cnf_mode_name(int security_mode);

#endif
