/* Loading a trust-list file from disk for showing: bytes, mtime, parse and
 * verification results together. Used by `tlv show`, `tlv verify` and the
 * admin shell's `show ctl` / `show itl`. */
#ifndef CTLKIT_TLVFILE_H
#define CTLKIT_TLVFILE_H

#include <stdio.h>

#include "ctlkit/trustlist.h"

typedef struct tlv_loaded {
    uint8_t *raw;
    size_t len;
    ck_tl_file *file;      /* NULL when it did not parse */
    ck_err parse_error;
    ck_err verify_error;
    ck_tl_show_info info;
} tlv_loaded;

/* Fails only when the file cannot be read; a malformed file loads with
 * file == NULL and parse_error set. */
int tlv_load(const char *path, tlv_loaded *t, ck_err *err);
void tlv_unload(tlv_loaded *t);
/* kind: "CTL"/"ITL" or NULL to take it from the file. */
void tlv_print(FILE *out, tlv_loaded *t, bool json, const char *kind);

#endif
