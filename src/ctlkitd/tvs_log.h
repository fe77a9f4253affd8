/* The TVS's names for the daemon's one log (log.h): its worker threads log
 * through dlog like every service. The texts imitate CUCM's TVS traces
 * ("tvsHandleQueryCertReq : Subject Name is: ..."). */
#ifndef CTLKITD_TVS_LOG_H
#define CTLKITD_TVS_LOG_H

#include "log.h"

#define TVS_LOG_ERROR DLOG_ERR
#define TVS_LOG_WARNING DLOG_WARNING
#define TVS_LOG_INFO DLOG_INFO
#define TVS_LOG_DEBUG DLOG_DEBUG
#define tvs_log dlog
#define tvs_log_enabled dlog_enabled

/* A warning about bad input from a client (any phone or stranger can send
 * it at will): at most TVS_BAD_INPUT_LOG_PER_SEC such lines a second, as
 * TFTP caps its rejections; the first line of the next second is preceded
 * by "tvs: N similar messages suppressed". */
#define TVS_BAD_INPUT_LOG_PER_SEC 20
#define TVS_STR_(x) #x
#define TVS_STR(x) TVS_STR_(x)
extern struct log_limit tvs_bad_input_limit;
#define tvs_log_bad_input(...)                                                                                  \
    do {                                                                                                        \
        if (dlog_limit_ok(&tvs_bad_input_limit, DLOG_WARNING,                                                   \
                          "tvs: %u similar messages suppressed (bad input: at most "                     \
                          TVS_STR(TVS_BAD_INPUT_LOG_PER_SEC) " lines a second)"))                         \
            dlog(DLOG_WARNING, __VA_ARGS__);                                                                    \
    } while (0)

#endif
