/* One phone's boot as a state machine on a libevent loop (docs/phones.md,
 * "Boot"): CTLSEP<MAC>.tlv else CTLFile.tlv, then (SBD models)
 * ITLSEP<MAC>.tlv else ITLFile.tlv, then the configuration file; each
 * trust list judged by the phone's rules (ctlkit/phone.h), asking TVS when
 * the rules say so. */
#ifndef PHONE_BOOT_H
#define PHONE_BOOT_H

#include <event2/event.h>
#include <openssl/ssl.h>

#include "ctlkit/phone.h"
#include "state.h"
#include "tftp_client.h"

typedef enum ph_file_status {
    PH_F_SKIPPED = 0,  /* not asked for (no ITL on non-SBD models; after a failure) */
    PH_F_NOT_FOUND,    /* the server has none: the phone keeps what it holds */
    PH_F_INSTALLED,
    PH_F_UNCHANGED,
    PH_F_REJECTED,     /* "Trust List Update Failed" (or a config whose signature fails) */
    PH_F_FAILED,       /* network: no TFTP server answered */
    PH_F_LOADED,       /* configuration: plain file read */
    PH_F_VERIFIED,     /* configuration: .sgn signature verified */
} ph_file_status;

const char *ph_file_status_name(ph_file_status s);

typedef struct ph_file_report {
    ph_file_status status;
    char file[64];          /* the file name that was fetched last */
    char server[64];        /* the TFTP server it came from */
    size_t size;
    ck_ph_reason reason;
    bool tvs_asked;         /* a TVS was asked (or its cached answer used) */
    bool tvs_cached;
    char tvs_server[64];
    char detail[320];
} ph_file_report;

typedef enum ph_outcome { PH_OUT_INSTALLED = 0, PH_OUT_UNCHANGED, PH_OUT_REJECTED, PH_OUT_FAILED } ph_outcome;
const char *ph_outcome_name(ph_outcome o);

typedef struct ph_boot_report {
    ph_file_report ctl, itl, cnf;
    ph_outcome outcome;
    ck_ph_reason reason;    /* of the first rejection, for summaries */
    unsigned tvs_queries;   /* TLS connections made */
    double ms;              /* boot duration */
} ph_boot_report;

typedef struct ph_boot_cfg {
    const ph_addr *tftp;    /* in the phone's order: primary, then backups */
    size_t n_tftp;
    const ph_addr *tvs;     /* CallManager group order */
    size_t n_tvs;
    ph_tftp_params tftp_params;
    unsigned tvs_timeout_ms;  /* per read or write */
    unsigned tvs_deadline_ms; /* the whole query (0: none) */
    SSL_CTX *ssl;
    bool no_config;         /* skip the configuration file */
} ph_boot_cfg;

/* Called when the boot is over; the boot object is already freed. */
typedef void (*ph_boot_cb)(void *arg, ph_phone *phone, const ph_boot_report *r);

typedef struct ph_boot ph_boot;

/* Starts booting phone (borrowed, updated in place) with pool and cfg
 * (borrowed until the callback); its TFTP and TVS traffic comes from
 * source (copied; NULL: the kernel's choice, source.h). */
ph_boot *ph_boot_start(struct event_base *base, ph_pool *pool, ph_phone *phone, const ph_boot_cfg *cfg,
                       const ck_netaddr *source, ph_boot_cb cb, void *arg, ck_err *err);

#endif
