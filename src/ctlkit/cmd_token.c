/* ctlkit token list|show|export: USB eTokens through PKCS#11 (what the
 * seed does with SafeNet Authentication Client before uploading a token's
 * certificate as Phone-SAST-trust). ctlkit provider passwd: the CTL
 * Provider's admin users. */
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctlclient.h"
#include "ctlkit/bytes.h"
#include "ctlkit/cluster.h"
#include "ctlkit/conf.h"
#include "ctlkit/provider_ops.h"
#include "ctlkit/token.h"
#include "ctlkit/x509.h"

static const char token_usage[] =
    "usage: ctlkit token list   [--module PATH]\n"
    "       ctlkit token show   [--module PATH] [--token LABEL | --slot N]\n"
    "       ctlkit token export [--module PATH] [--token LABEL | --slot N] --out FILE.pem\n"
    "\n"
    "USB eTokens (SAST tokens) through their PKCS#11 module: SafeNet's eToken\n"
    "driver on an admin's PC, SoftHSM2 for rehearsals\n"
    "(tests/tokens/make-tokens DIR makes two). --module defaults to\n"
    "$CTLKIT_P11_MODULE. list shows the tokens present; show prints a token's\n"
    "certificate as the CTL Client does (subject, issuer, valid from, expires);\n"
    "export writes it as PEM, to upload with\n"
    "  ctlkit admin ... -c 'set cert import trust Phone-SAST-trust FILE.pem'\n"
    "No token password is needed: certificates are public objects.\n";

static const char provider_usage[] =
    "usage: ctlkit provider passwd --cluster DIR USER [--password-file FILE]\n"
    "       ctlkit provider passwd --cluster postgresql://USER@HOST:PORT/DB --dir DIR\n"
    "                              --node NAME USER [--password-file FILE]\n"
    "\n"
    "Sets the password of a CTL Provider admin user (the user name and\n"
    "password the CTL Client asks for). Stored in DIR/provider-users (mode\n"
    "0600) as a salted PBKDF2-SHA256 hash. Across hosts the CTL Provider\n"
    "runs on the publisher: run this on its host with --dir and --node\n"
    "naming the publisher's node folder and name (a configuration file\n"
    "may give cluster, dir and node). Without\n"
    "--password-file it asks twice on the terminal, without echo.\n";

typedef struct token_args {
    const char *module, *label, *out;
    long slot;
} token_args;

static int open_one(const token_args *a, ck_p11 **m, ck_token **t)
{
    ck_err err = {0};
    const char *module = cc_module(a->module);
    if (!module) {
        cli_err("token: no PKCS#11 module: give --module PATH or set CTLKIT_P11_MODULE");
        return EXIT_ERROR;
    }
    if (ck_p11_load(module, m, &err) < 0) {
        cli_err_ck(&err, "token");
        return EXIT_ERROR;
    }
    if (ck_token_open(*m, a->label, a->label ? -1 : a->slot, t, &err) < 0) {
        cli_err_ck(&err, "token");
        ck_p11_free(*m);
        return EXIT_ERROR;
    }
    return EXIT_OK;
}

static int token_list(const token_args *a)
{
    ck_err err = {0};
    const char *module = cc_module(a->module);
    if (!module) {
        cli_err("token list: no PKCS#11 module: give --module PATH or set CTLKIT_P11_MODULE");
        return EXIT_ERROR;
    }
    ck_p11 *m = NULL;
    ck_token_info *v = NULL;
    size_t n = 0;
    if (ck_p11_load(module, &m, &err) < 0 || ck_p11_list(m, &v, &n, &err) < 0) {
        cli_err_ck(&err, "token list");
        ck_p11_free(m);
        return EXIT_ERROR;
    }
    printf("%-12s %-20s %-18s %-18s %-10s %s\n", "Slot", "Label", "Serial", "Manufacturer", "Model", "Certificate");
    for (size_t i = 0; i < n; i++) {
        ck_token *t = NULL;
        X509 *c = NULL;
        char *subj = NULL;
        if (ck_token_open(m, NULL, (long)v[i].slot, &t, NULL) == 0 && ck_token_cert(t, &c, NULL) == 0)
            subj = ck_name_cucm(X509_get_subject_name(c));
        printf("%-12lu %-20s %-18s %-18s %-10s %s%s\n", v[i].slot, v[i].label, v[i].serial, v[i].manufacturer,
               v[i].model, subj ? subj : "(none)", v[i].locked ? "  [LOCKED]" : "");
        free(subj);
        X509_free(c);
        ck_token_close(t);
    }
    if (n == 0)
        printf("(no Security Token present)\n");
    free(v);
    ck_p11_free(m);
    return EXIT_OK;
}

static int token_show_export(const token_args *a, bool export)
{
    ck_p11 *m = NULL;
    ck_token *t = NULL;
    int rc = open_one(a, &m, &t);
    if (rc != EXIT_OK)
        return rc;
    ck_err err = {0};
    X509 *c = NULL;
    if (ck_token_cert(t, &c, &err) < 0) {
        cli_err_ck(&err, export ? "token export" : "token show");
        rc = EXIT_ERROR;
    } else if (!export) {
        cc_show_token_cert(stdout, ck_token_get_info(t), c);
        uint8_t fp[32];
        unsigned fl = 0;
        char hex[64];
        ck_cert_fingerprint(c, "sha1", fp, &fl);
        ck_hex(fp, fl, ' ', true, hex, sizeof hex);
        printf("  SHA1 Hash:     %s\n", hex);
    } else if (ck_write_cert_pem(a->out, c, &err) < 0) {
        cli_err_ck(&err, "token export");
        rc = EXIT_ERROR;
    } else {
        char *subj = ck_name_cucm(X509_get_subject_name(c));
        printf("Exported the certificate of token %s (%s) to %s\n", ck_token_get_info(t)->label, subj ? subj : "?",
               a->out);
        free(subj);
    }
    X509_free(c);
    ck_token_close(t);
    ck_p11_free(m);
    return rc;
}

int cmd_token(int argc, char **argv)
{
    if (cli_wants_help(argc, argv, token_usage))
        return EXIT_OK;
    if (argc < 2) {
        fputs(token_usage, stderr);
        return EXIT_ERROR;
    }
    const char *sub = argv[1];
    static const struct option opts[] = {{"module", required_argument, 0, 'm'},
                                         {"token", required_argument, 0, 't'},
                                         {"slot", required_argument, 0, 's'},
                                         {"out", required_argument, 0, 'o'},
                                         {0, 0, 0, 0}};
    token_args a = {.slot = -1};
    int ch;
    long long v;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'm': a.module = optarg; break;
        case 't': a.label = optarg; break;
        case 'o': a.out = optarg; break;
        case 's':
            if (!ck_parse_ll(optarg, 0, 0x7fffffffLL, &v)) {
                cli_err("token: --slot must be a slot number, not '%s'", optarg);
                return EXIT_ERROR;
            }
            a.slot = (long)v;
            break;
        default: fputs(token_usage, stderr); return EXIT_ERROR;
        }
    }
    if (optind < argc) {
        cli_err("token: unexpected argument '%s'", argv[optind]);
        return EXIT_ERROR;
    }
    if (strcmp(sub, "list") == 0)
        return token_list(&a);
    if (strcmp(sub, "show") == 0)
        return token_show_export(&a, false);
    if (strcmp(sub, "export") == 0) {
        if (!a.out) {
            cli_err("token export: --out FILE.pem is required");
            return EXIT_ERROR;
        }
        return token_show_export(&a, true);
    }
    cli_err("token: unknown subcommand '%s' (list, show, export)", sub);
    return EXIT_ERROR;
}

int cmd_provider(int argc, char **argv)
{
    if (cli_wants_help(argc, argv, provider_usage))
        return EXIT_OK;
    if (argc < 2 || strcmp(argv[1], "passwd") != 0) {
        fputs(provider_usage, stderr);
        return EXIT_ERROR;
    }
    static const struct option opts[] = {{"cluster", required_argument, 0, 'c'},
                                         {"dir", required_argument, 0, 'd'},
                                         {"node", required_argument, 0, 'n'},
                                         {"password-file", required_argument, 0, 'p'},
                                         {0, 0, 0, 0}};
    const char *dir = NULL, *node_dir = NULL, *node = NULL, *pwfile = NULL;
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': dir = optarg; break;
        case 'd': node_dir = optarg; break;
        case 'n': node = optarg; break;
        case 'p': pwfile = optarg; break;
        default: fputs(provider_usage, stderr); return EXIT_ERROR;
        }
    }
    if (optind != argc - 1) {
        fputs(provider_usage, stderr);
        return EXIT_ERROR;
    }
    ck_conf conf;
    ck_err err = {0};
    if (ck_conf_load(&conf, &err) < 0) {
        cli_err_ck(&err, "provider passwd");
        return EXIT_ERROR;
    }
    ck_conf_apply(&conf, &dir, &node_dir, &node);
    if (!dir) {
        fputs(provider_usage, stderr);
        return EXIT_ERROR;
    }
    const char *user = argv[optind];
    char pw[CK_PV_PASSWORD_MAX + 2], again[CK_PV_PASSWORD_MAX + 2];
    int rc = EXIT_ERROR;
    ck_cluster *c = NULL;
    ck_cluster_where where = {.address = dir, .dir = node_dir, .node = node};
    if (ck_cluster_open_at(&where, user, &c, &err) < 0) {
        cli_err_ck(&err, "provider passwd");
        return EXIT_ERROR;
    }
    const char *home = NULL;
    if (ck_cluster_provider_home(c, &home, &err) < 0) {
        cli_err_ck(&err, "provider passwd");
        goto out;
    }
    int n = cc_read_secret("New password", pwfile, pw, sizeof pw, &err);
    if (n < 0) {
        cli_err_ck(&err, "provider passwd");
        goto out;
    }
    if (!pwfile) {
        int m = cc_read_secret("Retype the new password", NULL, again, sizeof again, &err);
        if (m < 0 || m != n || CRYPTO_memcmp(pw, again, (size_t)n) != 0) {
            cli_err("provider passwd: the passwords do not match");
            goto out;
        }
    }
    if (ck_provider_passwd(home, user, pw, (size_t)n, &err) < 0) {
        cli_err_ck(&err, "provider passwd");
        goto out;
    }
    printf("CTL Provider password set for %s\n", user);
    rc = EXIT_OK;
out:
    ck_cluster_close(c);
    OPENSSL_cleanse(pw, sizeof pw);
    OPENSSL_cleanse(again, sizeof again);
    return rc;
}
