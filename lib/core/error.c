#include "ctlkit/error.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ck_fail(ck_err *err, ck_code code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int ck_fail_ssl(ck_err *err, ck_code code, const char *fmt, ...)
{
    unsigned long e = ERR_peek_last_error();
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        if (e && n >= 0 && (size_t)n < sizeof err->msg) {
            const char *reason = ERR_reason_error_string(e);
            snprintf(err->msg + n, sizeof err->msg - (size_t)n, " (%s)", reason ? reason : "OpenSSL error");
        }
    }
    ERR_clear_error();
    return -1;
}

void ck_err_prefix(ck_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
}

void ck_err_clear(ck_err *err)
{
    if (err) {
        err->code = CK_OK;
        err->msg[0] = '\0';
    }
}

const char *ck_code_name(ck_code code)
{
    switch (code) {
#define CK_ERROR_NAME(c, name) \
    case c: return name;
        CK_ERROR_CODES(CK_ERROR_NAME)
#undef CK_ERROR_NAME
    }
    return "error";
}
