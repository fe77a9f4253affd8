/* When a certificate's expiry earns a warning (x509.h): one rule for every
 * view of the cluster's certificates (ctlkit-web's Certificates page, its
 * API), after CUCM's certificate monitor, which starts warning 30 days
 * before and warns again in the last week. */
#include <stddef.h>

#include "ctlkit/x509.h"

const char *ck_cert_expiry_warning(int64_t not_after, int64_t now, long *days_left)
{
    int64_t left = not_after - now;
    /* Whole days, rounded towards the past: 1 s after expiry is day -1. */
    long days = (long)(left >= 0 ? left / 86400 : -((-left + 86399) / 86400));
    if (days_left)
        *days_left = days;
    if (left < 0)
        return "expired";
    if (left < 7 * 86400LL)
        return "7 days";
    if (left < 30 * 86400LL)
        return "30 days";
    return NULL;
}
