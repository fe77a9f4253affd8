/* The CTL Provider's logins are cluster users (users.h) with the admin
 * role: a read-only user may look at the dashboard but not sign a CTL. */
#include <string.h>

#include "ctlkit/provider_ops.h"
#include "ctlkit/store.h"
#include "ctlkit/users.h"
#include "internal.h"

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

int ck_cluster_provider_home(ck_cluster *c, const char **dir, ck_err *err)
{
    *dir = NULL;
    if (!c->url) {
        *dir = c->dir;
        return 0;
    }
    /* Across hosts the CTL Provider runs on the publisher and reads the
     * users file in its own node folder: set them there, nowhere else
     * (the URL is never a folder name: it may carry a password). */
    ck_node pub;
    if (ck_store_publisher(c->store, &pub, err) < 0)
        return -1;
    if (!c->here_dir[0])
        return ck_fail(err, CK_EINVAL,
                       "%s: the CTL Provider's users live in the publisher's node folder: give --dir DIR --node %s "
                       "on its host",
                       c->name, pub.name);
    if (strcmp(c->here, pub.name) != 0)
        return ck_fail(err, CK_ESTATE,
                       "the CTL Provider runs on the publisher %s, not on %s: set its users on the publisher's host",
                       pub.name, c->here);
    *dir = c->here_dir;
    return 0;
}
