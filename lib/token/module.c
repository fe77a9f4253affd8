/* Loading a PKCS#11 module and listing its tokens. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11.h"

void ck__p11_field(char *out, size_t outsz, const CK_UTF8CHAR *in, size_t inlen)
{
    /* PKCS#11 text fields are blank-padded, not NUL-terminated. */
    size_t n = inlen < outsz - 1 ? inlen : outsz - 1;
    memcpy(out, in, n);
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\0'))
        n--;
    out[n] = '\0';
}

int ck_p11_load(const char *path, ck_p11 **out, ck_err *err)
{
    *out = NULL;
    if (!path || !*path)
        return ck_fail(err, CK_EINVAL, "no PKCS#11 module given (--module PATH, e.g. /usr/lib/softhsm/libsofthsm2.so)");
    ck_p11 *m = calloc(1, sizeof *m);
    if (!m)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    snprintf(m->path, sizeof m->path, "%s", path);
    /* RTLD_LOCAL: the module's symbols must not interpose on ours. */
    m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl) {
        const char *why = dlerror();
        ck_fail(err, CK_ENOTFOUND, "cannot load the PKCS#11 module %s: %s", path, why ? why : "unknown error");
        free(m);
        return -1;
    }
    CK_C_GetFunctionList get = NULL;
    *(void **)&get = dlsym(m->dl, "C_GetFunctionList");
    CK_RV rv = get ? get(&m->fn) : CKR_GENERAL_ERROR;
    if (!get || rv != CKR_OK || !m->fn) {
        ck_fail(err, CK_EINVAL, "%s is not a PKCS#11 module (no C_GetFunctionList)", path);
        dlclose(m->dl);
        free(m);
        return -1;
    }
    /* The module may be called from several threads (OS locking). */
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
    rv = m->fn->C_Initialize(&args);
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        m->finalize = false; /* someone else in this process owns it */
    } else if (rv != CKR_OK) {
        ck__p11_fail(err, rv, "initializing the PKCS#11 module", NULL);
        ck_err_prefix(err, "%s", path);
        dlclose(m->dl);
        free(m);
        return -1;
    } else {
        m->finalize = true;
    }
    *out = m;
    return 0;
}

void ck_p11_free(ck_p11 *m)
{
    if (!m)
        return;
    if (m->finalize)
        m->fn->C_Finalize(NULL);
    dlclose(m->dl);
    free(m);
}

int ck__p11_token_info(ck_p11 *m, CK_SLOT_ID slot, ck_token_info *info, ck_err *err)
{
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    memset(info, 0, sizeof *info);
    info->slot = slot;
    CK_RV rv = m->fn->C_GetSlotInfo(slot, &si);
    if (rv != CKR_OK)
        return ck__p11_fail(err, rv, "reading the slot", NULL);
    info->present = si.flags & CKF_TOKEN_PRESENT;
    if (!info->present)
        return 0;
    rv = m->fn->C_GetTokenInfo(slot, &ti);
    if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED) {
        info->present = false;
        return 0;
    }
    if (rv != CKR_OK)
        return ck__p11_fail(err, rv, "reading the token", NULL);
    ck__p11_field(info->label, sizeof info->label, ti.label, sizeof ti.label);
    ck__p11_field(info->serial, sizeof info->serial, ti.serialNumber, sizeof ti.serialNumber);
    ck__p11_field(info->manufacturer, sizeof info->manufacturer, ti.manufacturerID, sizeof ti.manufacturerID);
    ck__p11_field(info->model, sizeof info->model, ti.model, sizeof ti.model);
    info->initialized = ti.flags & CKF_TOKEN_INITIALIZED;
    info->locked = ti.flags & CKF_USER_PIN_LOCKED;
    info->final_try = ti.flags & CKF_USER_PIN_FINAL_TRY;
    return 0;
}

int ck_p11_list(ck_p11 *m, ck_token_info **out, size_t *n, ck_err *err)
{
    *out = NULL;
    *n = 0;
    CK_ULONG count = 0;
    CK_RV rv = m->fn->C_GetSlotList(CK_TRUE, NULL, &count);
    if (rv != CKR_OK)
        return ck__p11_fail(err, rv, "listing the token slots", NULL);
    if (count > 256)
        return ck_fail(err, CK_ELIMIT, "the PKCS#11 module reports %lu slots; at most 256 are read", count);
    CK_SLOT_ID *slots = calloc(count ? count : 1, sizeof *slots);
    ck_token_info *infos = calloc(count ? count : 1, sizeof *infos);
    if (!slots || !infos) {
        free(slots);
        free(infos);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    rv = m->fn->C_GetSlotList(CK_TRUE, slots, &count);
    if (rv != CKR_OK) {
        free(slots);
        free(infos);
        return ck__p11_fail(err, rv, "listing the token slots", NULL);
    }
    size_t k = 0;
    for (CK_ULONG i = 0; i < count; i++) {
        /* A token pulled out between the two calls is simply skipped. */
        if (ck__p11_token_info(m, slots[i], &infos[k], NULL) == 0 && infos[k].present && infos[k].initialized)
            k++;
    }
    free(slots);
    *out = infos;
    *n = k;
    return 0;
}
