/* ctlkit user add|passwd|remove|list: the cluster's users (users.h), who
 * log in to ctlkit-web and (admins) the CTL Provider. */
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctlclient.h"
#include "ctlkit/cluster.h"
#include "ctlkit/users.h"

static const char usage[] =
    "usage: ctlkit user add    --cluster C [--dir DIR --node NAME] USER [--role admin|read-only] [--password-file F]\n"
    "       ctlkit user passwd --cluster C [--dir DIR --node NAME] USER [--password-file F]\n"
    "       ctlkit user remove --cluster C [--dir DIR --node NAME] USER\n"
    "       ctlkit user list   --cluster C [--dir DIR --node NAME]\n"
    "\n"
    "The cluster's users: they log in to the web dashboard (ctlkit-web) and,\n"
    "with the admin role, to the CTL Provider. read-only users may look but\n"
    "change nothing. C is the cluster folder or its postgresql:// URL (then\n"
    "--dir and --node name this host's node folder, which holds the users\n"
    "file). Passwords: 8 to 256 characters, asked twice on the terminal or\n"
    "read from the first line of --password-file; stored as PBKDF2-SHA256\n"
    "(200000 iterations) in provider-users (mode 0600). add's role defaults\n"
    "to admin.\n";

typedef struct args {
    const char *cluster, *dir, *node, *pwfile, *role, *user;
} args;

static int parse(int argc, char **argv, args *a)
{
    static const struct option opts[] = {{"cluster", required_argument, 0, 'c'}, {"dir", required_argument, 0, 'd'},
                                         {"node", required_argument, 0, 'n'}, {"password-file", required_argument, 0, 'p'},
                                         {"role", required_argument, 0, 'r'}, {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': a->cluster = optarg; break;
        case 'd': a->dir = optarg; break;
        case 'n': a->node = optarg; break;
        case 'p': a->pwfile = optarg; break;
        case 'r': a->role = optarg; break;
        default: fputs(usage, stderr); return -1;
        }
    }
    if (!a->cluster) {
        cli_err("user %s: name the cluster with --cluster", argv[0]);
        return -1;
    }
    if (optind < argc)
        a->user = argv[optind++];
    if (optind < argc) {
        cli_err("user %s: unexpected argument '%s'", argv[0], argv[optind]);
        return -1;
    }
    return 0;
}

/* The folder that holds the users file: the cluster folder, or this
 * host's node folder across hosts. Opening the cluster checks it exists. */
static int users_dir(const args *a, char *out, size_t outsz, const char *what)
{
    ck_cluster_where w = {a->cluster, a->dir, a->node};
    ck_cluster *c = NULL;
    ck_err err = {0};
    if (ck_cluster_open_at(&w, NULL, &c, &err) < 0) {
        cli_err_ck(&err, what);
        return -1;
    }
    const char *dir = ck_cluster_dir(c);
    if (!dir || !*dir) {
        cli_err("%s: %s: give --dir and --node (this host's node folder holds the users file)", what,
                ck_cluster_name(c));
        ck_cluster_close(c);
        return -1;
    }
    snprintf(out, outsz, "%s", dir);
    ck_cluster_close(c);
    return 0;
}

static int set_password(int argc, char **argv, ck_user_put_mode mode)
{
    args a;
    if (parse(argc, argv, &a) < 0)
        return EXIT_ERROR;
    char what[32];
    snprintf(what, sizeof what, "user %s", argv[0]);
    if (!a.user) {
        cli_err("%s: name the user", what);
        return EXIT_ERROR;
    }
    ck_user_role role = CK_ROLE_ADMIN;
    ck_err err = {0};
    if (a.role && (mode != CK_USER_ADD || ck_user_role_parse(a.role, &role, &err) < 0)) {
        if (mode != CK_USER_ADD)
            cli_err("%s: --role is given when the user is added", what);
        else
            cli_err_ck(&err, what);
        return EXIT_ERROR;
    }
    char dir[4096];
    if (users_dir(&a, dir, sizeof dir, what) < 0)
        return EXIT_ERROR;
    char pw[CK_USER_PASSWORD_MAX + 2], again[CK_USER_PASSWORD_MAX + 2];
    int rc = EXIT_ERROR;
    int n = cc_read_secret("New password", a.pwfile, pw, sizeof pw, &err);
    if (n < 0) {
        cli_err_ck(&err, what);
        goto out;
    }
    if (!a.pwfile) {
        int m = cc_read_secret("Retype the new password", NULL, again, sizeof again, &err);
        if (m < 0 || m != n || CRYPTO_memcmp(pw, again, (size_t)n) != 0) {
            cli_err("%s: the passwords do not match", what);
            goto out;
        }
    }
    if (ck_users_put(dir, a.user, pw, (size_t)n, role, mode, &err) < 0) {
        cli_err_ck(&err, what);
        goto out;
    }
    if (mode == CK_USER_ADD)
        printf("User %s added (%s)\n", a.user, ck_user_role_name(role));
    else
        printf("Password changed for %s\n", a.user);
    rc = EXIT_OK;
out:
    OPENSSL_cleanse(pw, sizeof pw);
    OPENSSL_cleanse(again, sizeof again);
    return rc;
}

static int user_add(int argc, char **argv) { return set_password(argc, argv, CK_USER_ADD); }
static int user_passwd(int argc, char **argv) { return set_password(argc, argv, CK_USER_PASSWD); }

static int user_remove(int argc, char **argv)
{
    args a;
    if (parse(argc, argv, &a) < 0)
        return EXIT_ERROR;
    if (!a.user) {
        cli_err("user remove: name the user");
        return EXIT_ERROR;
    }
    char dir[4096];
    ck_err err = {0};
    if (users_dir(&a, dir, sizeof dir, "user remove") < 0)
        return EXIT_ERROR;
    if (ck_users_remove(dir, a.user, &err) < 0) {
        cli_err_ck(&err, "user remove");
        return EXIT_ERROR;
    }
    printf("User %s removed\n", a.user);
    return EXIT_OK;
}

static int user_list(int argc, char **argv)
{
    args a;
    if (parse(argc, argv, &a) < 0)
        return EXIT_ERROR;
    if (a.user) {
        cli_err("user list: unexpected argument '%s'", a.user);
        return EXIT_ERROR;
    }
    char dir[4096];
    ck_err err = {0};
    if (users_dir(&a, dir, sizeof dir, "user list") < 0)
        return EXIT_ERROR;
    ck_user_info *u = NULL;
    size_t n = 0;
    if (ck_users_list(dir, &u, &n, &err) < 0) {
        cli_err_ck(&err, "user list");
        return EXIT_ERROR;
    }
    for (size_t i = 0; i < n; i++)
        printf("%-32s %s\n", u[i].name, ck_user_role_name(u[i].role));
    free(u);
    return EXIT_OK;
}

int cmd_user(int argc, char **argv)
{
    static const cli_sub subs[] = {
        {"add", user_add}, {"passwd", user_passwd}, {"remove", user_remove}, {"list", user_list}};
    return cli_dispatch("user", argc, argv, usage, subs, sizeof subs / sizeof subs[0]);
}
