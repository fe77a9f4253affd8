/* One error type for all of libctlkit (architecture habit 6).
 *
 * Functions that can fail return 0 on success and -1 on failure, and fill
 * the caller's ck_err (which may be NULL when the caller does not care).
 * The message is one line in words an admin understands, naming what and,
 * for parsers, where (byte offset). */
#ifndef CTLKIT_ERROR_H
#define CTLKIT_ERROR_H

#include <stddef.h>

typedef enum ck_code {
    CK_OK = 0,
    CK_EINVAL,     /* a bad argument from the caller or the user */
    CK_EFORMAT,    /* malformed input bytes: a file, a packet, a message */
    CK_EIO,        /* the system refused: open, read, write, rename ... */
    CK_ECRYPTO,    /* OpenSSL could not do what was asked */
    CK_ESIGNATURE, /* well-formed, but the signature does not verify */
    CK_ENOTFOUND,  /* a file, node, certificate ... that does not exist */
    CK_ESTATE,     /* the operation does not fit the current state */
    CK_ENOMEM,     /* out of memory */
    CK_ELIMIT,     /* a size or count limit was reached */
    CK_EDENIED     /* authentication or authorisation failed */
} ck_code;

typedef struct ck_err {
    ck_code code;
    char msg[512];
} ck_err;

/* Records code and a printf-style message in err (if not NULL); returns -1
 * so that callers can write `return ck_fail(err, CK_EINVAL, "...")`. */
int ck_fail(ck_err *err, ck_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like ck_fail, and appends OpenSSL's most recent error reason, then clears
 * OpenSSL's error queue. */
int ck_fail_ssl(ck_err *err, ck_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the message already in err with "prefix: ". */
void ck_err_prefix(ck_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void ck_err_clear(ck_err *err);
const char *ck_code_name(ck_code code);

#endif
