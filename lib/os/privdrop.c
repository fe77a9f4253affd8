#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <openssl/crypto.h>

void privdrop_no_dumps(void) { (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

bool privdrop_secure_heap(void)
{
    /* OpenSSL keeps private-key numbers in this arena: mmap'd apart, locked
     * in memory and marked MADV_DONTDUMP. 256 KiB holds a node's few keys;
     * it is all or nothing (an mlock refused by RLIMIT_MEMLOCK: 0). */
    return CRYPTO_secure_malloc_initialized() || CRYPTO_secure_malloc_init(256 * 1024, 32) == 1;
}

static bool allow_root(const privdrop_config *c)
{
    const char *env = c->allow_root_env ? getenv(c->allow_root_env) : NULL;
    return c->allow_root || (env && strcmp(env, "1") == 0);
}

static int lookup(const char *name, struct passwd *pw, char *buf, size_t len, ck_err *err)
{
    struct passwd *found = NULL;
    int e = getpwnam_r(name, pw, buf, len, &found);
    if (!found)
        return ck_fail(err, CK_ENOTFOUND, "--user %s: %s", name, e ? strerror(e) : "no such account");
    return 0;
}

int privdrop_check(const privdrop_config *c, ck_err *err)
{
    struct passwd pw;
    char buf[4096];
    if (geteuid() != 0) {
        if (!c->user)
            return 0;
        if (lookup(c->user, &pw, buf, sizeof buf, err) < 0)
            return -1;
        if (pw.pw_uid != geteuid())
            return ck_fail(err, CK_EDENIED, "--user %s: only root can change user (running as uid %u)", c->user,
                           (unsigned)geteuid());
        return 0;
    }
    if (!c->user && allow_root(c))
        return 0;
    const char *name = c->user ? c->user : PRIVDROP_DEFAULT_USER;
    if (lookup(name, &pw, buf, sizeof buf, err) < 0) {
        if (!c->user)
            ck_fail(err, CK_ENOTFOUND,
                    "started as root and there is no account '%s' to drop to: create it "
                    "(adduser --system --group %s), name another with --user, or --allow-root",
                    name, name);
        return -1;
    }
    if (pw.pw_uid == 0 && !allow_root(c))
        return ck_fail(err, CK_EDENIED, "--user %s is root: refused without --allow-root", name);
    return 0;
}

/* The account apply would switch to; false when it would not switch. */
static bool target(const privdrop_config *c, struct passwd *pw, char *buf, size_t len)
{
    if (geteuid() != 0 || (!c->user && allow_root(c)))
        return false;
    return lookup(c->user ? c->user : PRIVDROP_DEFAULT_USER, pw, buf, len, NULL) == 0 && pw->pw_uid != 0;
}

bool privdrop_switches(const privdrop_config *c)
{
    struct passwd pw;
    char buf[4096];
    return target(c, &pw, buf, sizeof buf);
}

int privdrop_files_as(const privdrop_config *c, bool account, ck_err *err)
{
    struct passwd pw;
    char buf[4096];
    if (!target(c, &pw, buf, sizeof buf))
        return 0;
    uid_t uid = account ? pw.pw_uid : 0;
    gid_t gid = account ? pw.pw_gid : 0;
    /* setfsuid reports the previous id, never a failure: ask again. */
    setfsgid(gid);
    setfsuid(uid);
    if ((uid_t)setfsuid((uid_t)-1) != uid || (gid_t)setfsgid((gid_t)-1) != gid)
        return ck_fail(err, CK_EIO, "cannot access files as %s", account ? pw.pw_name : "root");
    return 0;
}

int privdrop_apply(const privdrop_config *c, const char **dropped_to, ck_err *err)
{
    *dropped_to = NULL;
    if (geteuid() != 0 || (!c->user && allow_root(c)))
        return 0;
    const char *name = c->user ? c->user : PRIVDROP_DEFAULT_USER;
    struct passwd pw;
    char buf[4096];
    if (lookup(name, &pw, buf, sizeof buf, err) < 0)
        return -1;
    if (pw.pw_uid == 0)
        return 0; /* --user root --allow-root */
    /* Groups first: after setuid there is no right left to change them. */
    if (initgroups(pw.pw_name, pw.pw_gid) != 0)
        return ck_fail(err, CK_EIO, "--user %s: initgroups: %s", name, strerror(errno));
    if (setgid(pw.pw_gid) != 0)
        return ck_fail(err, CK_EIO, "--user %s: setgid %u: %s", name, (unsigned)pw.pw_gid, strerror(errno));
    if (setuid(pw.pw_uid) != 0)
        return ck_fail(err, CK_EIO, "--user %s: setuid %u: %s", name, (unsigned)pw.pw_uid, strerror(errno));
    /* Every id changed, and root cannot come back. */
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 || ru != pw.pw_uid || eu != pw.pw_uid ||
        su != pw.pw_uid || rg != pw.pw_gid || eg != pw.pw_gid || sg != pw.pw_gid || setuid(0) == 0 ||
        seteuid(0) == 0)
        return ck_fail(err, CK_EIO, "--user %s: the switch of user did not hold", name);
    /* A change of credentials may reset the flag; set it again. */
    privdrop_no_dumps();
    /* Nothing the server might start could gain privileges back (setuid
     * programs, file capabilities); the units say NoNewPrivileges too. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return ck_fail(err, CK_EIO, "--user %s: PR_SET_NO_NEW_PRIVS: %s", name, strerror(errno));
    static char kept[64];
    snprintf(kept, sizeof kept, "%s", name);
    *dropped_to = kept;
    return 0;
}
