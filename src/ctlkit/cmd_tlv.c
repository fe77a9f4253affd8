/* ctlkit tlv build | show | verify: CTL and ITL files. */
#include <arpa/inet.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "ctlkit/bytes.h"
#include "ctlkit/fileio.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"
#include "tlvfile.h"

static const char usage[] =
    "usage: ctlkit tlv build OUT.tlv --sast PEM [--sast PEM] [--ccm PEM] [--ccm-tftp PEM] [--tftp PEM]\n"
    "                        [--capf PEM] [--app-server PEM] [--tvs PEM] [--digest sha1|sha256|sha512]\n"
    "                        [--filename NAME] [--signer-version 1.0|1.1] [--timestamp UNIX]\n"
    "       ctlkit tlv show FILE [--json]\n"
    "       ctlkit tlv verify FILE\n"
    "\n"
    "build: records are written in the order given; the first --sast signs, and\n"
    "its PEM must hold the private key. Each PEM may be followed by options:\n"
    "  PEM,dns=NAME   DNS name of the record (default: the certificate's CN)\n"
    "  PEM,ip=A.B.C.D IPv4 address of the record (default 0.0.0.0)\n"
    "  PEM,etoken     an eToken record: lone-NUL DNS name, no SIGNATURE element\n"
    "The default FILENAME is OUT's base name.\n"
    "\n"
    "show: CUCM's `show ctl` layout, or JSON (docs/json.md). Exit 0 valid,\n"
    "1 invalid signature, 2 malformed or unreadable.\n"
    "verify: one line; exit 0 valid, 1 invalid signature, 2 malformed or unreadable.\n";

typedef struct record_arg {
    unsigned role;
    char *spec;
    X509 *cert;
    EVP_PKEY *key;
    char *dns;
    bool etoken;
    uint8_t ip[4];
} record_arg;

/* Splits "PEM,dns=NAME,ip=A.B.C.D,etoken" in place. */
static int parse_spec(record_arg *r, ck_err *err)
{
    char *save = NULL;
    char *path = strtok_r(r->spec, ",", &save);
    for (char *opt = strtok_r(NULL, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
        if (strncmp(opt, "dns=", 4) == 0)
            r->dns = opt + 4;
        else if (strncmp(opt, "ip=", 3) == 0) {
            if (inet_pton(AF_INET, opt + 3, r->ip) != 1)
                return ck_fail(err, CK_EINVAL, "%s: '%s' is not an IPv4 address", path, opt + 3);
        } else if (strcmp(opt, "etoken") == 0) {
            r->etoken = true;
            r->dns = "";
        } else
            return ck_fail(err, CK_EINVAL, "%s: unknown record option '%s' (dns=, ip=, etoken)", path, opt);
    }
    if (ck_load_pem(path, &r->cert, &r->key, false, err) < 0)
        return -1;
    if (!r->key)
        return 0;
    /* A PEM that holds a private key goes through the one checked loader
     * (regular file, 0600, owned by us), as every key ctlkit reads. */
    EVP_PKEY_free(r->key);
    X509_free(r->cert);
    r->key = NULL;
    r->cert = NULL;
    return ck_load_key_pem(path, 0, &r->cert, &r->key, NULL, 0, err);
}

static int tlv_build(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sast", required_argument, 0, 0x100 + CK_ROLE_SAST},
        {"ccm", required_argument, 0, 0x100 + CK_ROLE_CCM},
        {"ccm-tftp", required_argument, 0, 0x100 + CK_ROLE_CCM_TFTP},
        {"tftp", required_argument, 0, 0x100 + CK_ROLE_TFTP},
        {"capf", required_argument, 0, 0x100 + CK_ROLE_CAPF},
        {"app-server", required_argument, 0, 0x100 + CK_ROLE_APP_SERVER},
        {"tvs", required_argument, 0, 0x100 + CK_ROLE_TVS},
        {"digest", required_argument, 0, 'd'},
        {"filename", required_argument, 0, 'f'},
        {"signer-version", required_argument, 0, 'v'},
        {"timestamp", required_argument, 0, 't'},
        {0, 0, 0, 0}};
    record_arg recs[64];
    size_t n = 0;
    ck_tl_build_opts o = {0};
    ck_err err = {0};
    int rc = EXIT_ERROR, ch;
    long long v;

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch >= 0x100) {
            if (n == sizeof recs / sizeof recs[0]) {
                cli_err("tlv build: more than %zu records", n);
                goto out;
            }
            recs[n] = (record_arg){.role = (unsigned)(ch - 0x100), .spec = optarg};
            n++;
            continue;
        }
        switch (ch) {
        case 'd':
            if (ck_digest_parse(optarg, &o.digest_alg) < 0) {
                cli_err("tlv build: --digest must be sha1, sha256 or sha512, not '%s'", optarg);
                goto out;
            }
            break;
        case 'f': o.filename = optarg; break;
        case 'v':
            if (strcmp(optarg, "1.0") == 0)
                o.signer_version = 10;
            else if (strcmp(optarg, "1.1") == 0)
                o.signer_version = 11;
            else {
                cli_err("tlv build: --signer-version must be 1.0 or 1.1, not '%s'", optarg);
                goto out;
            }
            break;
        case 't':
            if (!ck_parse_ll(optarg, 1, 0xffffffffLL, &v)) {
                cli_err("tlv build: --timestamp must be Unix seconds, not '%s'", optarg);
                goto out;
            }
            o.timestamp = (uint32_t)v;
            break;
        default:
            cli_err("tlv build: unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
            goto out;
        }
    }
    if (optind != argc - 1) {
        cli_err("tlv build: name exactly one output file (see --help)");
        goto out;
    }
    const char *out_path = argv[optind];
    ck_tl_entry entries[64];
    record_arg *signer = NULL;
    for (size_t i = 0; i < n; i++) {
        if (parse_spec(&recs[i], &err) < 0) {
            cli_err_ck(&err, "tlv build");
            goto out;
        }
        if (recs[i].role == CK_ROLE_SAST && !signer)
            signer = &recs[i];
        entries[i] = (ck_tl_entry){.role = recs[i].role, .cert = recs[i].cert, .dns_name = recs[i].dns,
                                   .no_cert_signature = recs[i].etoken};
        memcpy(entries[i].ip, recs[i].ip, 4);
    }
    if (!signer) {
        cli_err("tlv build: at least one --sast is needed; the first one signs");
        goto out;
    }
    if (!signer->key) {
        cli_err("tlv build: %s: the signing --sast PEM must hold the private key", signer->spec);
        goto out;
    }
    char base[4096];
    snprintf(base, sizeof base, "%s", out_path);
    if (!o.filename)
        o.filename = basename(base);
    ck_tl_signer s;
    ck_tl_signer_key(&s, signer->cert, signer->key);
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (ck_tl_build(entries, n, &s, &o, &bytes, &len, &err) < 0 ||
        ck_write_file_atomic(out_path, bytes, len, 0644, &err) < 0) {
        cli_err_ck(&err, out_path);
        free(bytes);
        goto out;
    }
    free(bytes);
    printf("%s: %zu bytes, %zu records, signed by %s\n", out_path, len, n, signer->spec);
    rc = EXIT_OK;
out:
    for (size_t i = 0; i < n; i++) {
        X509_free(recs[i].cert);
        EVP_PKEY_free(recs[i].key);
    }
    return rc;
}

static int tlv_show(int argc, char **argv)
{
    bool json = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] == '-') {
            cli_err("tlv show: unknown option '%s'", argv[i]);
            return EXIT_ERROR;
        } else if (path) {
            cli_err("tlv show: name one file");
            return EXIT_ERROR;
        } else
            path = argv[i];
    }
    if (!path) {
        cli_err("tlv show: name a file (see --help)");
        return EXIT_ERROR;
    }
    tlv_loaded t;
    ck_err err = {0};
    if (tlv_load(path, &t, &err) < 0) {
        cli_err_ck(&err, NULL);
        return EXIT_ERROR;
    }
    tlv_print(stdout, &t, json, NULL);
    int rc = !t.file ? EXIT_ERROR : t.info.verified ? EXIT_OK : EXIT_INVALID;
    tlv_unload(&t);
    return rc;
}

static int tlv_verify(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        cli_err("tlv verify: name one file (see --help)");
        return EXIT_ERROR;
    }
    tlv_loaded t;
    ck_err err = {0};
    if (tlv_load(argv[1], &t, &err) < 0) {
        cli_err_ck(&err, NULL);
        return EXIT_ERROR;
    }
    int rc;
    if (!t.file) {
        printf("%s: malformed: %s\n", argv[1], t.parse_error.msg);
        rc = EXIT_ERROR;
    } else if (!t.info.verified) {
        printf("%s: invalid signature: %s\n", argv[1], t.verify_error.msg);
        rc = t.verify_error.code == CK_ESIGNATURE ? EXIT_INVALID : EXIT_ERROR;
    } else {
        const ck_tl_record *r = &t.file->records[t.file->signer_index];
        printf("%s: valid signature (%s, %zu records, signer %.*s)\n", argv[1], ck_digest_name(t.file->digest_alg),
               t.file->n_records, (int)r->subject.n, r->subject.p ? (const char *)r->subject.p : "");
        rc = EXIT_OK;
    }
    tlv_unload(&t);
    return rc;
}

int cmd_tlv(int argc, char **argv)
{
    static const cli_sub subs[] = {{"build", tlv_build}, {"show", tlv_show}, {"verify", tlv_verify}};
    return cli_dispatch("tlv", argc, argv, usage, subs, sizeof subs / sizeof subs[0]);
}
