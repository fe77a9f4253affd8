/* One error type for all of libctlkit (architecture habit 6).
 *
 * Functions that can fail return 0 on success and -1 on failure, and fill
 * the caller's ck_err (which may be NULL when the caller does not care).
 * The message is one line in words an admin understands, naming what and,
 * for parsers, where (byte offset). */
#ifndef CTLKIT_ERROR_H
#define CTLKIT_ERROR_H

#include <stddef.h>

/* Every error code once: X(CODE, "name ck_code_name returns"), with what
 * it means beside it. The enum and ck_code_name are built from this list. */
#define CK_ERROR_CODES(X)                                     \
    X(CK_OK, "ok")                                            \
    /* a bad argument from the caller or the user */          \
    X(CK_EINVAL, "invalid argument")                          \
    /* malformed input bytes: a file, a packet, a message */  \
    X(CK_EFORMAT, "malformed input")                          \
    /* the system refused: open, read, write, rename ... */   \
    X(CK_EIO, "i/o error")                                    \
    /* OpenSSL could not do what was asked */                 \
    X(CK_ECRYPTO, "cryptographic error")                      \
    /* well-formed, but the signature does not verify */      \
    X(CK_ESIGNATURE, "invalid signature")                     \
    /* a file, node, certificate ... that does not exist */   \
    X(CK_ENOTFOUND, "not found")                              \
    /* the operation does not fit the current state */        \
    X(CK_ESTATE, "wrong state")                               \
    X(CK_ENOMEM, "out of memory")                             \
    /* a size or count limit was reached */                   \
    X(CK_ELIMIT, "limit reached")                             \
    /* authentication or authorisation failed */              \
    X(CK_EDENIED, "denied")

typedef enum ck_code {
#define CK_ERROR_ENUM(code, name) code,
    CK_ERROR_CODES(CK_ERROR_ENUM)
#undef CK_ERROR_ENUM
} ck_code;

/* On a function whose result must not be dropped: a write, a commit, an
 * audit row, a publish. The compiler warns (an error with -Werror) when a
 * caller ignores it; callers that may ignore it say so with CK_IGNORE. */
#define CK_MUST_USE __attribute__((warn_unused_result))
/* GCC does not accept a (void) cast for warn_unused_result; this does. */
#define CK_IGNORE(expr) \
    do {                \
        if (expr) {     \
        }               \
    } while (0)

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
