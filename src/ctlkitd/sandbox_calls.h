/* The system calls ctlkitd's running services make (--seccomp). */
#ifndef CTLKITD_SANDBOX_CALLS_H
#define CTLKITD_SANDBOX_CALLS_H

#include "sandbox.h"

extern const sandbox_calls ctlkitd_calls;

#endif
