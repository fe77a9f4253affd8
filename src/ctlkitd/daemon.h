/* Process set-up for ctlkitd: file-descriptor limit and detaching. */
#ifndef CTLKITD_DAEMON_H
#define CTLKITD_DAEMON_H

#include "ctlkit/error.h"

/* Raises RLIMIT_NOFILE's soft limit to the hard limit: every TVS, CAPF and
 * Provider connection holds a descriptor (TFTP transfers share a few ports),
 * so the default 1024 would cap concurrency. Returns the new soft limit. */
long daemon_raise_fd_limit(void);
/* Forks into the background, starts a new session, chdir("/"), and points
 * stdin/stdout/stderr at /dev/null. Returns 1 in the parent (which should
 * leave main at once), 0 in the child, -1 on failure. */
int daemon_detach(ck_err *err);

#endif
