/* ctlkit cert new: a self-signed certificate and its key in one PEM (0600).
 * ctlkit cert show: any certificate (a node's, an LSC a phone got from CAPF,
 * a MIC) in the layout of CUCM's certificate page. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctlkit/bytes.h"
#include "ctlkit/x509.h"

static const char usage[] =
    "usage: ctlkit cert new OUT.pem --cn NAME [--ou OU] [--o ORG] [--l CITY] [--st STATE] [--c CC]\n"
    "                      [--bits 1024|2048|4096 | --curve P-256|P-384] [--digest sha1|sha256]\n"
    "                      [--days N] [--serial HEX]\n"
    "       ctlkit cert show FILE.pem|FILE.der\n"
    "\n"
    "Creates a self-signed certificate and its private key, both in OUT.pem\n"
    "(mode 0600). Defaults: RSA 2048, SHA-256, 1825 days, 16 random serial bytes.\n"
    "show prints a certificate as CUCM's certificate page does, then its MD5\n"
    "fingerprint (the certHash of an encrypted phone configuration) and SHA-1.\n";

static int cert_new(int argc, char **argv)
{
    ck_cert_params p = {0};
    uint8_t serial[20];
    static const struct option opts[] = {
        {"cn", required_argument, 0, 'n'},    {"ou", required_argument, 0, 'u'},
        {"o", required_argument, 0, 'o'},     {"l", required_argument, 0, 'l'},
        {"st", required_argument, 0, 's'},    {"c", required_argument, 0, 'c'},
        {"bits", required_argument, 0, 'b'},  {"curve", required_argument, 0, 'k'},
        {"digest", required_argument, 0, 'd'}, {"days", required_argument, 0, 'y'},
        {"serial", required_argument, 0, 'r'}, {0, 0, 0, 0}};
    long long v;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long_only(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'n': p.cn = optarg; break;
        case 'u': p.ou = optarg; break;
        case 'o': p.o = optarg; break;
        case 'l': p.l = optarg; break;
        case 's': p.st = optarg; break;
        case 'c': p.c = optarg; break;
        case 'k': p.curve = optarg; break;
        case 'b':
            if (!ck_parse_ll(optarg, 1024, 4096, &v) || (v != 1024 && v != 2048 && v != 4096)) {
                cli_err("cert new: --bits must be 1024, 2048 or 4096, not '%s'", optarg);
                return EXIT_ERROR;
            }
            p.rsa_bits = (int)v;
            break;
        case 'd':
            if (strcmp(optarg, "sha1") && strcmp(optarg, "sha256") && strcmp(optarg, "sha384") &&
                strcmp(optarg, "sha512")) {
                cli_err("cert new: --digest must be sha1 or sha256 (or sha384, sha512), not '%s'", optarg);
                return EXIT_ERROR;
            }
            p.digest = optarg;
            break;
        case 'y':
            if (!ck_parse_ll(optarg, 1, 36500, &v)) {
                cli_err("cert new: --days must be a whole number from 1 to 36500, not '%s'", optarg);
                return EXIT_ERROR;
            }
            p.days = (int)v;
            break;
        case 'r':
            if (ck_hex_decode(optarg, serial, sizeof serial, &p.serial_len) < 0) {
                cli_err("cert new: --serial must be 1 to 20 bytes of hex, not '%s'", optarg);
                return EXIT_ERROR;
            }
            p.serial = serial;
            break;
        default:
            cli_err("cert new: unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
            return EXIT_ERROR;
        }
    }
    if (optind != argc - 1) {
        cli_err("cert new: name exactly one output file (see --help)");
        return EXIT_ERROR;
    }
    if (!p.cn) {
        cli_err("cert new: --cn is required");
        return EXIT_ERROR;
    }
    if (p.curve && p.rsa_bits) {
        cli_err("cert new: --bits and --curve exclude each other");
        return EXIT_ERROR;
    }
    const char *out = argv[optind];
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    ck_err err = {0};
    if (ck_cert_generate(&p, &cert, &key, &err) < 0 || ck_write_key_cert_pem(out, key, cert, &err) < 0) {
        cli_err_ck(&err, "cert new");
        X509_free(cert);
        EVP_PKEY_free(key);
        return EXIT_ERROR;
    }
    char serial_hex[64];
    ck_cert_serial_hex(cert, serial_hex, sizeof serial_hex);
    char *subject = ck_name_cucm(X509_get_subject_name(cert));
    printf("%s: %s, serial %s\n", out, subject ? subject : "?", serial_hex);
    free(subject);
    X509_free(cert);
    EVP_PKEY_free(key);
    return EXIT_OK;
}

static int cert_show(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        cli_err("cert show: name one certificate file (see --help)");
        return EXIT_ERROR;
    }
    ck_err err = {0};
    X509 *cert = NULL;
    if (ck_load_pem(argv[1], &cert, NULL, false, &err) < 0) {
        cli_err_ck(&err, "cert show");
        return EXIT_ERROR;
    }
    char *details = ck_cert_details(cert);
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    char md5[3 * EVP_MAX_MD_SIZE] = "?", sha1[3 * EVP_MAX_MD_SIZE] = "?";
    if (ck_cert_fingerprint(cert, "md5", d, &dn) == 0)
        ck_hex(d, dn, 0, false, md5, sizeof md5);
    if (ck_cert_fingerprint(cert, "sha1", d, &dn) == 0)
        ck_hex(d, dn, ':', true, sha1, sizeof sha1);
    int rc = details ? EXIT_OK : EXIT_ERROR;
    if (details)
        printf("%sMD5 Fingerprint: %s\nSHA1 Fingerprint: %s\n", details, md5, sha1);
    else
        cli_err("cert show: out of memory");
    free(details);
    X509_free(cert);
    return rc;
}

int cmd_cert(int argc, char **argv)
{
    static const cli_sub subs[] = {{"new", cert_new}, {"show", cert_show}};
    return cli_dispatch("cert", argc, argv, usage, subs, sizeof subs / sizeof subs[0]);
}
