/* ctlkitd's seccomp filter: once the services have started, only the
 * system calls they use are allowed (docs/installing.md). */
#ifndef CTLKITD_SANDBOX_H
#define CTLKITD_SANDBOX_H

#include <stdbool.h>

#include "ctlkit/error.h"

typedef enum sandbox_mode {
    SANDBOX_OFF,  /* no filter (the default on the command line) */
    SANDBOX_LOG,  /* a call outside the list runs and the kernel logs it (audit) */
    SANDBOX_TRAP, /* a call outside the list fails with ENOSYS and its number goes to stderr (tests) */
    SANDBOX_KILL, /* a call outside the list kills the daemon (the systemd unit) */
} sandbox_mode;

/* "off", "log", "trap" or "kill". */
bool sandbox_parse_mode(const char *text, sandbox_mode *out);
/* Installs the filter on every thread of the process. */
int sandbox_install(sandbox_mode mode, ck_err *err);

#endif
