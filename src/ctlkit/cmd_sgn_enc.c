/* ctlkit sgn: encrypted configuration files (.enc.sgn). Building writes
 * the encrypted file and the stub .sgn that phones fetch first; decrypting
 * takes the phone's private key (docs/capf.md). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctlkit/bytes.h"
#include "ctlkit/encsgn.h"
#include "ctlkit/fileio.h"
#include "ctlkit/x509.h"
#include "sgn_enc.h"

#define ENC_SUFFIX ".enc.sgn"

int sgn_build_encrypted(const uint8_t *content, size_t clen, const ck_tl_signer *signer, const ck_tl_build_opts *o,
                        const char *recipient_path, const char *out)
{
    size_t olen = strlen(out), slen = strlen(ENC_SUFFIX);
    if (olen <= slen || strcmp(out + olen - slen, ENC_SUFFIX) != 0) {
        cli_err("sgn build: with --encrypt-for, OUT must end in %s (the stub .sgn is written beside it)", ENC_SUFFIX);
        return EXIT_ERROR;
    }
    char stub_path[4096];
    snprintf(stub_path, sizeof stub_path, "%.*s.sgn", (int)(olen - slen), out);
    /* The stub is a file of its own: its FILENAME is its own name (X.sgn),
     * not the .enc.sgn's, as the phone requests each by its name. */
    char stub_name[4096];
    const char *enc_name = o->filename;
    size_t nlen = strlen(enc_name);
    if (nlen > slen && strcmp(enc_name + nlen - slen, ENC_SUFFIX) == 0)
        snprintf(stub_name, sizeof stub_name, "%.*s.sgn", (int)(nlen - slen), enc_name);
    else {
        const char *slash = strrchr(stub_path, '/');
        snprintf(stub_name, sizeof stub_name, "%s", slash ? slash + 1 : stub_path);
    }
    ck_tl_build_opts stub_o = *o;
    stub_o.filename = stub_name;
    ck_err err = {0};
    X509 *rcpt = NULL;
    char *stub = NULL;
    size_t stub_len = 0, enc_len = 0, sgn_len = 0;
    uint8_t *enc = NULL, *sgn = NULL;
    int rc = EXIT_ERROR;
    if (ck_load_pem(recipient_path, &rcpt, NULL, false, &err) < 0) {
        cli_err_ck(&err, "sgn build: --encrypt-for");
        goto out;
    }
    if (ck_encsgn_stub(content, clen, rcpt, &stub, &stub_len, &err) < 0 ||
        ck_encsgn_build(content, clen, signer, o, rcpt, &enc, &enc_len, &err) < 0 ||
        ck_sgn_build((const uint8_t *)stub, stub_len, signer, &stub_o, &sgn, &sgn_len, &err) < 0) {
        cli_err_ck(&err, "sgn build");
        goto out;
    }
    if (ck_write_file_atomic(out, enc, enc_len, 0644, &err) < 0) {
        cli_err_ck(&err, out);
        goto out;
    }
    if (ck_write_file_atomic(stub_path, sgn, sgn_len, 0644, &err) < 0) {
        cli_err_ck(&err, stub_path);
        CK_IGNORE(remove(out)); /* not one without the other */
        goto out;
    }
    printf("%s: %zu bytes (%zu header + %zu encrypted), for %d-bit RSA key of %s\n", out, enc_len,
           enc_len - (clen + 16 - clen % 16), clen + 16 - clen % 16, EVP_PKEY_get_bits(X509_get0_pubkey(rcpt)),
           recipient_path);
    printf("%s: %zu bytes (stub configuration, encrConfig true)\n", stub_path, sgn_len);
    rc = EXIT_OK;
out:
    X509_free(rcpt);
    free(stub);
    free(enc);
    free(sgn);
    return rc;
}

int sgn_decrypt(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, 0, 'k'}, {"out", required_argument, 0, 'o'},
                                         {0, 0, 0, 0}};
    const char *key_path = NULL, *out = NULL;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (ch) {
        case 'k': key_path = optarg; break;
        case 'o': out = optarg; break;
        default:
            cli_err("sgn decrypt: unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
            return EXIT_ERROR;
        }
    }
    if (optind != argc - 1 || !key_path) {
        cli_err("sgn decrypt: needs FILE.enc.sgn and --key PEM (see --help)");
        return EXIT_ERROR;
    }
    const char *path = argv[optind];
    ck_err err = {0};
    uint8_t *raw = NULL, *plain = NULL;
    size_t len = 0, plen = 0;
    ck_tl_file *f = NULL;
    EVP_PKEY *key = NULL;
    int rc = EXIT_ERROR;
    if (ck_read_file(path, 64u * 1024 * 1024, &raw, &len, &err) < 0) {
        cli_err_ck(&err, NULL);
        goto out;
    }
    if (ck_sgn_parse(raw, len, &f, &err) < 0) {
        cli_err("%s: malformed: %s", path, err.msg);
        goto out;
    }
    if (ck_load_key_pem(key_path, 0, NULL, &key, NULL, 0, &err) < 0) {
        cli_err_ck(&err, "sgn decrypt: --key");
        goto out;
    }
    if (ck_encsgn_decrypt(f, key, &plain, &plen, &err) < 0) {
        cli_err_ck(&err, path);
        goto out;
    }
    if (out) {
        /* The configuration may hold secrets: readable by its owner only. */
        if (ck_write_file_atomic(out, plain, plen, 0600, &err) < 0) {
            cli_err_ck(&err, out);
            goto out;
        }
        printf("%s: %zu bytes (%s digest matches)\n", out, plen, ck_digest_name(f->enc.digest_alg));
    } else if (fwrite(plain, 1, plen, stdout) != plen || fflush(stdout) != 0) {
        cli_err("sgn decrypt: cannot write to standard output");
        goto out;
    }
    rc = EXIT_OK;
out:
    if (plain)
        OPENSSL_cleanse(plain, plen);
    free(plain);
    EVP_PKEY_free(key);
    ck_tl_free(f);
    free(raw);
    return rc;
}

void sgn_show_enc_text(FILE *out, const ck_tl_file *f)
{
    const ck_sgn_enc *e = &f->enc;
    char iv[3 * 16], digest[3 * 64];
    ck_hex(e->iv, sizeof e->iv, ':', true, iv, sizeof iv);
    ck_hex(e->digest.p, e->digest.n, 0, false, digest, sizeof digest);
    fprintf(out, "ENCRYPTION: AES-128-CBC, key wrapped for a %u-bit RSA key\n", e->key_bits);
    fprintf(out, "IV: %s\nPADDING: %u (BYTES)\n", iv, e->pad_len);
    fprintf(out, "CONTENTDIGEST: %s %s\n", ck_digest_name(e->digest_alg), digest);
}

json_t *sgn_show_enc_json(const ck_tl_file *f)
{
    const ck_sgn_enc *e = &f->enc;
    char iv[3 * 16], digest[3 * 64];
    ck_hex(e->iv, sizeof e->iv, 0, false, iv, sizeof iv);
    ck_hex(e->digest.p, e->digest.n, 0, false, digest, sizeof digest);
    return json_pack("{s:s,s:i,s:s,s:i,s:s,s:s}", "cipher", "AES-128-CBC", "wrapped_key_bits", e->key_bits, "iv", iv,
                     "padding", e->pad_len, "content_digest_algorithm", ck_digest_name(e->digest_alg),
                     "content_digest", digest);
}
