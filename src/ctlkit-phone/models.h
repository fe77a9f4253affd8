/* The phone models the simulator knows (docs/phones.md, "Models"). */
#ifndef PHONE_MODELS_H
#define PHONE_MODELS_H

#include <stdbool.h>

typedef enum ph_checksum { PH_SUM_MD5 = 0, PH_SUM_SHA1 = 1 } ph_checksum;

typedef struct ph_model {
    const char *name;      /* what --model takes: "7975", "8865", "jabber" */
    const char *device;    /* the model part of CP-<model>-SEP<MAC> */
    const char *label;     /* "Cisco IP Phone 7975" */
    bool sbd;              /* Security by Default: holds an ITL, asks TVS */
    ph_checksum checksum;  /* how Settings > Security shows the CTL */
    /* The TLS the firmware speaks to TVS: versions (TLS1_*_VERSION) and
     * the suites it offers up to TLS 1.2 (NULL: OpenSSL's default list). */
    int tls_min, tls_max;
    const char *tls_suites;
} ph_model;

/* NULL when unknown; case-insensitive, "CP-7975" accepted too. */
const ph_model *ph_model_find(const char *name);
/* The table, for --help and the docs. */
const ph_model *ph_model_at(unsigned i);
const char *ph_checksum_name(ph_checksum c); /* "MD5", "SHA1" */
/* "TLS 1.0" or "TLS 1.2 to 1.3", for messages. */
void ph_model_tls_text(const ph_model *m, char *out, size_t outsz);

#endif
