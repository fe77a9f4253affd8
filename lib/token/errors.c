/* PKCS#11 return codes in words an admin can act on. */
#include <stdio.h>

#include "p11.h"

const char *ck__p11_rv_name(CK_RV rv)
{
    static const struct {
        CK_RV rv;
        const char *name;
    } names[] = {
        {CKR_OK, "CKR_OK"},
        {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
        {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
        {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
        {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
        {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
        {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
        {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
        {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
        {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
        {CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED"},
        {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
        {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
        {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
        {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
        {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
        {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
        {CKR_PIN_INVALID, "CKR_PIN_INVALID"},
        {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
        {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
        {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
        {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
        {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
        {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
        {CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN"},
        {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
        {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
        {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
        {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
        {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].rv == rv)
            return names[i].name;
    return "CKR_(other)";
}

int ck__p11_fail(ck_err *err, CK_RV rv, const char *what, const ck_token_info *ti)
{
    const char *label = ti && ti->label[0] ? ti->label : NULL;
    char tok[64] = "";
    if (label)
        snprintf(tok, sizeof tok, " (token %s)", label);
    switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_INVALID:
        return ck_fail(err, CK_EDENIED, "wrong token password%s", tok);
    case CKR_PIN_LOCKED:
        return ck_fail(err, CK_EDENIED,
                       "the token is locked after too many wrong passwords%s; unlock it with its administrator password",
                       tok);
    case CKR_PIN_EXPIRED:
        return ck_fail(err, CK_EDENIED, "the token password has expired%s; change it with the token's tools", tok);
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_REMOVED:
        return ck_fail(err, CK_ENOTFOUND, "%s: the token is not present%s (was it removed?)", what, tok);
    case CKR_HOST_MEMORY:
        return ck_fail(err, CK_ENOMEM, "%s: out of memory", what);
    default:
        return ck_fail(err, CK_ECRYPTO, "%s%s: %s (0x%lx)", what, tok, ck__p11_rv_name(rv), (unsigned long)rv);
    }
}
