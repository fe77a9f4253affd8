/* The seccomp filter of ctlkit's servers: once a server has started, only
 * the system calls on its own list are allowed (docs/installing.md). The
 * mechanism is here; each program keeps its list (ctlkitd's in
 * src/ctlkitd/sandbox_calls.c, ctlkit-web's in src/ctlkit-web/sandbox_calls.c).
 * A sanitizer build (CTLKIT_SANITIZE) adds the few calls of the sanitizer
 * runtimes to every list; a release build's filter is the program's list. */
#ifndef CTLKIT_OS_SANDBOX_H
#define CTLKIT_OS_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "ctlkit/error.h"

typedef enum sandbox_mode {
    SANDBOX_OFF,  /* no filter (the default on the command line) */
    SANDBOX_LOG,  /* a call outside the list runs and the kernel logs it (audit) */
    SANDBOX_TRAP, /* a call outside the list fails with ENOSYS and its number goes to stderr (tests) */
    SANDBOX_KILL, /* a call outside the list kills the server (the systemd units) */
} sandbox_mode;

/* A program's allowed system calls, by name (a name the architecture does
 * not have, e.g. open on arm64, is skipped). */
typedef struct sandbox_calls {
    const char *program; /* names the program in --seccomp=trap's lines */
    const char *const *names;
    size_t n;
} sandbox_calls;

/* "off", "log", "trap" or "kill". */
bool sandbox_parse_mode(const char *text, sandbox_mode *out);
/* Installs the filter allowing calls on every thread of the process. */
int sandbox_install(sandbox_mode mode, const sandbox_calls *calls, ck_err *err);

#endif /* CTLKIT_OS_SANDBOX_H */
