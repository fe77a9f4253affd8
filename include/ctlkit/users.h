/* Cluster users (lib/cluster/users.c): who may log in to the web dashboard
 * and the CTL Provider, with a role. One file in the cluster folder (across
 * hosts: this host's node folder), DIR/provider-users, mode 0600, one line
 * per user: NAME:pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX[:ROLE]
 * (PKCS5_PBKDF2_HMAC with SHA-256, 16-byte salt, 32-byte hash). ROLE is
 * "admin" or "read-only"; a line without one (written before roles
 * existed) is an admin. The file name stays what the CTL Provider used, so
 * its users became cluster users without a migration. */
#ifndef CTLKIT_USERS_H
#define CTLKIT_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/error.h"

#define CK_USERS_FILE "provider-users"
#define CK_USERS_PBKDF2_ITER 200000
#define CK_USER_NAME_MAX 64
#define CK_USER_PASSWORD_MIN 8
#define CK_USER_PASSWORD_MAX 256

typedef enum ck_user_role { CK_ROLE_ADMIN = 0, CK_ROLE_READONLY = 1 } ck_user_role;

/* "admin" / "read-only". */
const char *ck_user_role_name(ck_user_role r);
/* Parses a role name; -1 with err for anything else. */
int ck_user_role_parse(const char *s, ck_user_role *out, ck_err *err);

/* What ck_users_put does with an existing or missing user. */
typedef enum ck_user_put_mode {
    CK_USER_ADD,      /* a new user; refuses an existing name */
    CK_USER_PASSWD,   /* a new password for an existing user; role kept */
    CK_USER_UPSERT,   /* either; a new user gets role, an existing one keeps its role */
} ck_user_put_mode;

/* Sets a user's password (and role for a new user). Names: 1 to
 * CK_USER_NAME_MAX letters, digits, '.', '_', '-'; passwords 8 to 256
 * bytes, no NUL. The file is locked while read, changed and replaced
 * atomically. */
int ck_users_put(const char *dir, const char *user, const char *password, size_t pwlen, ck_user_role role,
                 ck_user_put_mode mode, ck_err *err);
/* Removes a user; CK_ENOTFOUND when there is none by that name. */
int ck_users_remove(const char *dir, const char *user, ck_err *err);

typedef struct ck_user_info {
    char name[CK_USER_NAME_MAX + 1];
    ck_user_role role;
} ck_user_info;
/* Every user, in the file's order; free(*out). No users file: 0 users. */
int ck_users_list(const char *dir, ck_user_info **out, size_t *n, ck_err *err);

/* What a login stands on, for a server that keeps sessions: the user's
 * role and a stamp that changes with every password set (the salt; not a
 * secret, but it says nothing about the password either). CK_ENOTFOUND
 * when there is no such user (or no users file). A session whose user is
 * gone, or whose role or stamp changed, should end: removing a user or
 * setting a new password must not leave a logged-in browser behind. */
#define CK_USER_STAMP_LEN 16
int ck_users_current(const char *dir, const char *user, ck_user_role *role, uint8_t stamp[CK_USER_STAMP_LEN],
                     ck_err *err);

/* Checks a password (constant-time compare; an unknown user costs the same
 * time as a known one). CK_EDENIED on a wrong user or password; other codes
 * when the file cannot be used. On success *role is the user's role. */
int ck_users_auth(const char *dir, const char *user, const char *password, size_t pwlen, ck_user_role *role,
                  ck_err *err);

#endif
