/* A certificate's dates (x509.h): read as seconds, and when its expiry
 * earns a warning: one rule for every view of the cluster's certificates
 * (`cluster status`, ctlkit-web's Certificates page and its API), after
 * CUCM's certificate monitor, which starts warning 30 days before and
 * warns again in the last week. */
#include <stddef.h>
#include <time.h>

#include "ctlkit/x509.h"

bool ck_asn1_time_seconds(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return false;
    *out = (int64_t)timegm(&tm);
    return true;
}

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
