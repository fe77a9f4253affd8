/* ctlkit sgn build | show | verify | strip | decrypt: signed files (.sgn),
 * the trust-list header followed by the original bytes, and encrypted
 * ones (.enc.sgn, cmd_sgn_enc.c). */
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctlkit/bytes.h"
#include "ctlkit/fileio.h"
#include "ctlkit/phone.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"
#include "sgn_enc.h"

static const char usage[] =
    "usage: ctlkit sgn build IN OUT.sgn --signer PEM [--digest sha1|sha256|sha512] [--filename NAME]\n"
    "       ctlkit sgn build IN OUT.enc.sgn --signer PEM --encrypt-for CERT.pem [--digest ...] [--filename NAME]\n"
    "       ctlkit sgn show FILE.sgn [--json]\n"
    "       ctlkit sgn verify FILE.sgn (--cert PEM | --trust CTL-or-ITL)\n"
    "       ctlkit sgn strip FILE.sgn OUT\n"
    "       ctlkit sgn decrypt FILE.enc.sgn --key KEY.pem [-o OUT]\n"
    "\n"
    "The signer is a TFTP-role certificate (CallManager on CUCM) whose PEM holds\n"
    "the key. The default FILENAME is OUT's base name (the name phones request,\n"
    "as the reference tools write it). verify takes the signer's certificate\n"
    "directly, or finds it in a CTL/ITL among its TFTP, CCM+TFTP or SAST\n"
    "records by serial and issuer.\n"
    "--encrypt-for encrypts IN (a phone configuration) for the phone whose\n"
    "certificate (RSA LSC or MIC) is given, and writes the stub .sgn beside\n"
    "OUT.enc.sgn (OUT.sgn: certHash, encrConfig true, what reaches CAPF).\n"
    "show and verify read both kinds. decrypt takes the phone's private key\n"
    "and checks the content digest; it does not check the signature (verify\n"
    "does). Without -o the configuration goes to standard output.\n"
    "Exit codes: 0 valid, 1 invalid signature, 2 malformed or unreadable.\n";

static int load_sgn(const char *path, uint8_t **raw, size_t *len, ck_tl_file **f)
{
    ck_err err = {0};
    if (ck_read_file(path, 64u * 1024 * 1024, raw, len, &err) < 0) {
        cli_err_ck(&err, NULL);
        return -1;
    }
    if (ck_sgn_parse(*raw, *len, f, &err) < 0) {
        cli_err("%s: malformed: %s", path, err.msg);
        free(*raw);
        return -1;
    }
    return 0;
}

static int sgn_build(int argc, char **argv)
{
    static const struct option opts[] = {{"signer", required_argument, 0, 's'},
                                         {"digest", required_argument, 0, 'd'},
                                         {"filename", required_argument, 0, 'f'},
                                         {"encrypt-for", required_argument, 0, 'e'},
                                         {0, 0, 0, 0}};
    const char *signer_path = NULL, *recipient_path = NULL;
    ck_tl_build_opts o = {.digest_alg = CK_DIGEST_SHA1};
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 's': signer_path = optarg; break;
        case 'f': o.filename = optarg; break;
        case 'e': recipient_path = optarg; break;
        case 'd':
            if (ck_digest_parse(optarg, &o.digest_alg) < 0) {
                cli_err("sgn build: --digest must be sha1, sha256 or sha512, not '%s'", optarg);
                return EXIT_ERROR;
            }
            break;
        default:
            cli_err("sgn build: unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
            return EXIT_ERROR;
        }
    }
    if (optind != argc - 2 || !signer_path) {
        cli_err("sgn build: needs IN, OUT and --signer PEM (see --help)");
        return EXIT_ERROR;
    }
    const char *in = argv[optind], *out = argv[optind + 1];
    ck_err err = {0};
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    uint8_t *content = NULL, *bytes = NULL;
    size_t clen = 0, blen = 0;
    int rc = EXIT_ERROR;
    /* FILENAME is the name phones request (X.sgn, X.enc.sgn), as on CUCM's
     * TFTP and in the reference tools' files: OUT's base name. */
    char base[4096];
    snprintf(base, sizeof base, "%s", out);
    if (!o.filename)
        o.filename = basename(base);
    if (ck_load_key_pem(signer_path, 0, &cert, &key, NULL, 0, &err) < 0 ||
        ck_read_file(in, 64u * 1024 * 1024, &content, &clen, &err) < 0) {
        cli_err_ck(&err, "sgn build");
        goto out;
    }
    ck_tl_signer s;
    ck_tl_signer_key(&s, cert, key);
    if (recipient_path) {
        rc = sgn_build_encrypted(content, clen, &s, &o, recipient_path, out);
        goto out;
    }
    if (ck_sgn_build(content, clen, &s, &o, &bytes, &blen, &err) < 0 ||
        ck_write_file_atomic(out, bytes, blen, 0644, &err) < 0) {
        cli_err_ck(&err, out);
        goto out;
    }
    printf("%s: %zu bytes (%zu header + %zu content)\n", out, blen, blen - clen, clen);
    rc = EXIT_OK;
out:
    free(content);
    free(bytes);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

/* The certificate of the record that may sign the .sgn, by the phones' rule
 * (ck_ph_sgn_signer_record: TFTP or CCM+TFTP), so that `sgn verify` says
 * "valid" exactly where a phone would. */
static X509 *signer_from_trustlist(const char *path, const ck_tl_file *sgn, ck_err *err)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    ck_tl_file *tl = NULL;
    X509 *found = NULL;
    if (ck_read_file(path, CK_TL_MAX_PARSE, &raw, &len, err) < 0)
        return NULL;
    if (ck_tl_parse(raw, len, &tl, err) < 0 || ck_tl_verify(tl, err) < 0) {
        ck_err_prefix(err, "%s", path);
        goto out;
    }
    const ck_tl_record *r = ck_ph_sgn_signer_record(tl, sgn);
    if (r)
        found = ck_cert_from_der(r->cert.p, r->cert.n, err);
    if (!found && err->code == CK_OK)
        ck_fail(err, CK_ENOTFOUND, "%s has no TFTP record for the signer %.*s", path, (int)sgn->signer_name.n,
                (const char *)sgn->signer_name.p);
out:
    ck_tl_free(tl);
    free(raw);
    return found;
}

static int sgn_verify(int argc, char **argv)
{
    const char *cert_path = NULL, *trust_path = NULL, *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--cert") == 0 && i + 1 < argc)
            cert_path = argv[++i];
        else if (strcmp(argv[i], "--trust") == 0 && i + 1 < argc)
            trust_path = argv[++i];
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            cli_err("sgn verify: unexpected argument '%s' (see --help)", argv[i]);
            return EXIT_ERROR;
        }
    }
    if (!path || (!cert_path == !trust_path)) {
        cli_err("sgn verify: needs FILE and one of --cert PEM or --trust CTL (see --help)");
        return EXIT_ERROR;
    }
    uint8_t *raw;
    size_t len;
    ck_tl_file *f;
    if (load_sgn(path, &raw, &len, &f) < 0)
        return EXIT_ERROR;
    ck_err err = {0};
    X509 *cert = NULL;
    int rc = EXIT_ERROR;
    if (cert_path ? ck_load_pem(cert_path, &cert, NULL, false, &err) < 0
                  : !(cert = signer_from_trustlist(trust_path, f, &err))) {
        cli_err_ck(&err, NULL);
        goto out;
    }
    if (ck_tl_verify_with(f, cert, &err) < 0) {
        printf("%s: invalid signature: %s\n", path, err.msg);
        rc = err.code == CK_ESIGNATURE ? EXIT_INVALID : EXIT_ERROR;
    } else {
        printf("%s: valid signature (%s, %zu content bytes, signer %.*s)\n", path, ck_digest_name(f->digest_alg),
               f->content.n, (int)f->signer_name.n, (const char *)f->signer_name.p);
        rc = EXIT_OK;
    }
out:
    X509_free(cert);
    ck_tl_free(f);
    free(raw);
    return rc;
}

static int sgn_show(int argc, char **argv)
{
    bool json = argc == 3 && strcmp(argv[2], "--json") == 0;
    if (argc != 2 && !json) {
        cli_err("sgn show: name one file (see --help)");
        return EXIT_ERROR;
    }
    uint8_t *raw;
    size_t len;
    ck_tl_file *f;
    if (load_sgn(argv[1], &raw, &len, &f) < 0)
        return EXIT_ERROR;
    char serial[200];
    ck_hex(f->signer_serial.p, f->signer_serial.n, ':', true, serial, sizeof serial);
    if (json) {
        char v[16], *name = strndup((const char *)f->filename.p, f->filename.n);
        snprintf(v, sizeof v, "%u.%u", f->ver_major, f->ver_minor);
        json_t *j = json_pack("{s:s,s:i,s:s?,s:s,s:s,s:I,s:I}", "version", v, "header_length", f->header_len,
                              "filename", name, "digest", ck_digest_name(f->digest_alg), "signer_serial", serial,
                              "signature_length", (json_int_t)f->signature.n, "content_length",
                              (json_int_t)f->content.n);
        if (j && f->enc.present)
            json_object_set_new(j, "encryption", sgn_show_enc_json(f));
        char *txt = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        printf("%s\n", txt ? txt : "{}");
        free(txt);
        json_decref(j);
        free(name);
    } else {
        printf("Version: %u.%u\nHeaderLength: %u (BYTES)\n", f->ver_major, f->ver_minor, f->header_len);
        printf("FILENAME: %.*s\n", (int)f->filename.n, (const char *)f->filename.p);
        printf("SIGNERNAME: %.*s\n", (int)f->signer_name.n, (const char *)f->signer_name.p);
        printf("SERIALNUMBER: %s\n", serial);
        printf("CANAME: %.*s\n", (int)f->signer_issuer.n, (const char *)f->signer_issuer.p);
        printf("DIGESTALGORTITHM: %s\nSIGNATURE: %zu bytes\n", ck_digest_name(f->digest_alg), f->signature.n);
        if (f->enc.present)
            sgn_show_enc_text(stdout, f);
        printf("Content: %zu bytes%s\n", f->content.n, f->enc.present ? " (encrypted)" : "");
    }
    ck_tl_free(f);
    free(raw);
    return EXIT_OK;
}

static int sgn_strip(int argc, char **argv)
{
    if (argc != 3) {
        cli_err("sgn strip: needs FILE.sgn and OUT (see --help)");
        return EXIT_ERROR;
    }
    uint8_t *raw;
    size_t len;
    ck_tl_file *f;
    if (load_sgn(argv[1], &raw, &len, &f) < 0)
        return EXIT_ERROR;
    ck_err err = {0};
    if (f->enc.present) {
        cli_err("sgn strip: %s is encrypted; `sgn decrypt --key` gives its content", argv[1]);
        ck_tl_free(f);
        free(raw);
        return EXIT_ERROR;
    }
    int rc = ck_write_file_atomic(argv[2], f->content.p, f->content.n, 0644, &err) < 0 ? EXIT_ERROR : EXIT_OK;
    if (rc)
        cli_err_ck(&err, NULL);
    else
        printf("%s: %zu bytes\n", argv[2], f->content.n);
    ck_tl_free(f);
    free(raw);
    return rc;
}

int cmd_sgn(int argc, char **argv)
{
    static const cli_sub subs[] = {
        {"build", sgn_build}, {"show", sgn_show}, {"verify", sgn_verify}, {"strip", sgn_strip},
        {"decrypt", sgn_decrypt}};
    return cli_dispatch("sgn", argc, argv, usage, subs, sizeof subs / sizeof subs[0]);
}
