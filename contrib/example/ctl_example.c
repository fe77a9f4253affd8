/* ctl_example: libctlkit from the outside (docs/using-libctlkit.md).
 *
 * Builds a CTL with two certificates (a SAST that signs and a CCM+TFTP
 * server), signs it with the SAST's key, parses the bytes back, verifies the
 * signature and prints what CUCM's `show ctl` would. Everything it uses is
 * in the installed public headers; it links with
 *
 *   cc ctl_example.c $(pkg-config --cflags --libs ctlkit)
 *
 * Usage: ctl_example [OUT.tlv]   (writes the CTL there when given) */
#include <ctlkit/trustlist.h>
#include <ctlkit/x509.h>

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints the reason and returns 1, so that main can `return fail(...)`. */
static int fail(const char *what, const ck_err *err)
{
    fprintf(stderr, "ctl_example: %s: %s\n", what, err->msg);
    return 1;
}

/* A 2048-bit self-signed certificate with a CUCM-like subject. */
static int make_cert(const char *cn, X509 **cert, EVP_PKEY **key, ck_err *err)
{
    ck_cert_params p;
    memset(&p, 0, sizeof p);
    p.cn = cn;
    p.ou = "VTG";
    p.o = "Example";
    p.l = "Paris";
    p.st = "IDF";
    p.c = "FR";
    p.rsa_bits = 2048;
    return ck_cert_generate(&p, cert, key, err);
}

static int write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    ck_err err;
    X509 *sast = NULL, *ccm = NULL;
    EVP_PKEY *sast_key = NULL, *ccm_key = NULL;
    uint8_t *ctl = NULL;
    size_t ctl_len = 0;
    ck_tl_file *parsed = NULL;
    int rc = 1;

    ck_err_clear(&err);
    if (make_cert("SAST-ADN00001", &sast, &sast_key, &err) != 0) {
        rc = fail("SAST certificate", &err);
        goto out;
    }
    if (make_cert("cucm-pub", &ccm, &ccm_key, &err) != 0) {
        rc = fail("CCM+TFTP certificate", &err);
        goto out;
    }

    /* Records in file order; the signer must be one of the SAST records. */
    ck_tl_entry entries[2];
    memset(entries, 0, sizeof entries);
    entries[0].role = CK_ROLE_SAST;
    entries[0].cert = sast;
    entries[1].role = CK_ROLE_CCM_TFTP;
    entries[1].cert = ccm;
    entries[1].dns_name = "cucm-pub.example.com";
    memcpy(entries[1].ip, (uint8_t[4]){192, 0, 2, 10}, 4);

    ck_tl_signer signer;
    ck_tl_signer_key(&signer, sast, sast_key);
    ck_tl_build_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.filename = "CTLFile.tlv";
    opts.digest_alg = CK_DIGEST_SHA256;

    if (ck_tl_build(entries, 2, &signer, &opts, &ctl, &ctl_len, &err) != 0) {
        rc = fail("build", &err);
        goto out;
    }
    if (argc > 1 && write_file(argv[1], ctl, ctl_len) != 0)
        goto out;

    /* What a phone or a provisioning server does with bytes it received. */
    if (ck_tl_parse(ctl, ctl_len, &parsed, &err) != 0) {
        rc = fail("parse", &err);
        goto out;
    }
    ck_tl_show_info info;
    memset(&info, 0, sizeof info);
    info.verified = ck_tl_verify(parsed, &err) == 0;
    info.verify_error = info.verified ? NULL : err.msg;
    ck_tl_show_text(stdout, ctl, ctl_len, parsed, &info, NULL);
    if (!info.verified) {
        rc = fail("verify", &err);
        goto out;
    }
    printf("ctl_example: %zu records, %zu bytes, signature verified\n", parsed->n_records, ctl_len);
    rc = 0;

out:
    ck_tl_free(parsed);
    free(ctl);
    X509_free(sast);
    X509_free(ccm);
    EVP_PKEY_free(sast_key); /* frees and wipes the key material */
    EVP_PKEY_free(ccm_key);
    return rc;
}
