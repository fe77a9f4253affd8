/* The CTL Provider's logins are cluster users (users.h) with the admin
 * role: a read-only user may look at the dashboard but not sign a CTL. */
#include "ctlkit/provider_ops.h"
#include "ctlkit/users.h"

int ck_provider_passwd(const char *cluster_dir, const char *user, const char *password, size_t pwlen, ck_err *err)
{
    return ck_users_put(cluster_dir, user, password, pwlen, CK_ROLE_ADMIN, CK_USER_UPSERT, err);
}

int ck_provider_auth(const char *cluster_dir, const char *user, const char *password, size_t pwlen, ck_err *err)
{
    ck_user_role role = CK_ROLE_READONLY;
    if (ck_users_auth(cluster_dir, user, password, pwlen, &role, err) < 0)
        return -1;
    if (role != CK_ROLE_ADMIN)
        return ck_fail(err, CK_EDENIED, "user %s is read-only: the CTL Provider needs an admin", user);
    return 0;
}
