/* Private to lib/token: the loaded module and an open token. */
#ifndef CTLKIT_TOKEN_P11_H
#define CTLKIT_TOKEN_P11_H

#include <p11-kit/pkcs11.h>

#include "ctlkit/token.h"

struct ck_p11 {
    void *dl;                /* dlopen handle */
    CK_FUNCTION_LIST *fn;
    bool finalize;           /* we initialized it, so we finalize it */
    char path[256];
};

struct ck_token {
    ck_p11 *m;
    CK_SESSION_HANDLE session;
    bool logged_in;
    ck_token_info info;
    X509 *cert;              /* the SAST certificate, once read */
    CK_BYTE id[64];          /* its CKA_ID */
    CK_ULONG id_len;
    CK_OBJECT_HANDLE key;    /* the matching private key, once found */
};

/* PKCS#11 return code in words ("CKR_PIN_INCORRECT"). */
const char *ck__p11_rv_name(CK_RV rv);
/* Fills err with "what: CKR_..." and returns -1; maps the codes an admin
 * can act on (wrong password, locked, token removed) to plain words. */
int ck__p11_fail(ck_err *err, CK_RV rv, const char *what, const ck_token_info *ti);
/* Copies a blank-padded PKCS#11 text field into a C string. */
void ck__p11_field(char *out, size_t outsz, const CK_UTF8CHAR *in, size_t inlen);
/* Reads the token info of one slot into info. */
int ck__p11_token_info(ck_p11 *m, CK_SLOT_ID slot, ck_token_info *info, ck_err *err);

#endif
