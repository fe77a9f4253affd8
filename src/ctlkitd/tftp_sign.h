/* The key that signs files on request: a phone may ask for any file of
 * the TFTP folder with ".sgn" appended and gets it signed by the node's
 * TFTP-role (CallManager) key, as CUCM's TFTP serves SEP<MAC>.cnf.xml.sgn.
 * The signed form is built on the first request after the file or the key
 * changed and kept with the file (tftp_cache_find_signed); the key is
 * re-read when its file changes (checked on every reload of the folder). */
#ifndef CTLKITD_TFTP_SIGN_H
#define CTLKITD_TFTP_SIGN_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "ctlkit/error.h"

struct tftp_signer {
    X509 *cert;
    EVP_PKEY *key;
    unsigned gen; /* bumped when the key changes; 0 = no key */
    /* identity of the key file, to notice a new one */
    dev_t dev;
    ino_t ino;
    struct timespec mtime, ctime;
};

/* (Re)loads path (ck_load_key_pem with flags) when its file changed since
 * the last load. On failure the previous key stays in use. *changed tells
 * whether a new key was taken. */
int tftp_signer_refresh(struct tftp_signer *s, const char *path, unsigned flags, bool *changed, ck_err *err);
void tftp_signer_clear(struct tftp_signer *s);

#endif
