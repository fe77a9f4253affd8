/* The system calls ctlkit-web makes once it serves (--seccomp). */
#ifndef CTLKIT_WEB_SANDBOX_CALLS_H
#define CTLKIT_WEB_SANDBOX_CALLS_H

#include "sandbox.h"

extern const sandbox_calls web_calls;

#endif
