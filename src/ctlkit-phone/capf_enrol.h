/* The CAPF session a phone's configuration asks for (docs/phones-capf.md,
 * "Phones enrol from their configuration"): CUCM puts capfAuthMode and
 * capfList in SEP<MAC>.cnf.xml while an operation is pending; the phone
 * then connects to the first capfList entry, trusting the CAPF records of
 * its CTL/ITL. By null string or existing certificate it starts by
 * itself; by authentication string only once the user typed the string. */
#ifndef PHONE_CAPF_ENROL_H
#define PHONE_CAPF_ENROL_H

#include "capf_client.h"
#include "state.h"

typedef enum ph_enrol {
    PH_ENROL_NONE = 0,      /* the configuration asks for no CAPF operation */
    PH_ENROL_NEEDS_STRING,  /* by authentication string, and none was typed */
    PH_ENROL_RAN,           /* a session ran to END_SESSION: see the result */
} ph_enrol;

/* Loads the LSC and MIC of state folder dir into p (for decrypting and
 * for CAPF). */
int ph_phone_load_certs(const char *dir, ph_phone *p, ck_err *err);

/* Runs the session p's configuration asks for, if any; a new LSC is saved
 * in dir and taken into p, a deleted one removed. *stored says an LSC was
 * installed. given_key (may be NULL: the phone makes one) answers the key
 * request, as ph_capf_cfg's, and so do timeout_ms and deadline_ms; the
 * session comes from source (NULL: the kernel's choice). -1 (err) when the
 * session broke off, could not start or outlived its deadline. */
int ph_capf_enrol(const char *dir, ph_phone *p, const ck_netaddr *source, const char *auth_string,
                  EVP_PKEY *given_key, unsigned timeout_ms, unsigned deadline_ms, ph_enrol *what, ph_capf_result *r,
                  bool *stored, ck_err *err);

#endif
