/* How a node's copy of a published file is named in status views. */
#include "ctlkit/cluster.h"

const char *ck_copy_state_word(ck_copy_state st)
{
    switch (st) {
    case CK_COPY_ABSENT: return "absent";
    case CK_COPY_MISSING: return "missing";
    case CK_COPY_UNPUBLISHED: return "unpublished copy";
    case CK_COPY_OK: return "ok";
    case CK_COPY_ELSEWHERE: return "on its host";
    default: return "DIFFERS";
    }
}
