/* Certificate details in the layout of CUCM's Certificate Management page
 * (seed: "Certificate File Data"). */
#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctlkit/bytes.h"
#include "ctlkit/x509.h"

const char *ck_cert_sigalg_name(const X509 *cert)
{
    switch (X509_get_signature_nid(cert)) {
    case NID_sha1WithRSAEncryption: return "SHA1withRSA";
    case NID_sha256WithRSAEncryption: return "SHA256withRSA";
    case NID_sha384WithRSAEncryption: return "SHA384withRSA";
    case NID_sha512WithRSAEncryption: return "SHA512withRSA";
    case NID_md5WithRSAEncryption: return "MD5withRSA";
    case NID_ecdsa_with_SHA256: return "SHA256withECDSA";
    case NID_ecdsa_with_SHA384: return "SHA384withECDSA";
    case NID_ecdsa_with_SHA512: return "SHA512withECDSA";
    }
    return "unknown";
}

static void when(const ASN1_TIME *t, char *out, size_t outsz)
{
    struct tm tm;
    if (ASN1_TIME_to_tm(t, &tm) != 1) {
        snprintf(out, outsz, "?");
        return;
    }
    time_t tt = timegm(&tm);
    struct tm local;
    localtime_r(&tt, &local);
    strftime(out, outsz, "%a %b %d %H:%M:%S %Z %Y", &local);
}

/* A name as CUCM's certificate page writes it (Java's order: "L=Krakow,
 * ST=Malopolska, CN=cucm-1051-a-pub, OU=TAC, O=Cisco, C=PL"), then any
 * other field in the certificate's own order. */
static char *page_name(X509_NAME *name)
{
    static const int order[] = {NID_localityName, NID_stateOrProvinceName, NID_commonName,
                                NID_organizationalUnitName, NID_organizationName, NID_countryName};
    static const char *const label[] = {"L", "ST", "CN", "OU", "O", "C"};
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return NULL;
    bool first = true;
    int n = X509_NAME_entry_count(name);
    for (size_t k = 0; k <= sizeof order / sizeof order[0]; k++) {
        for (int i = 0; i < n; i++) {
            X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
            int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
            bool known = false;
            for (size_t j = 0; j < sizeof order / sizeof order[0]; j++)
                known = known || order[j] == nid;
            if (k < sizeof order / sizeof order[0] ? nid != order[k] : known)
                continue;
            unsigned char *u = NULL;
            if (ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e)) < 0)
                continue;
            const char *sn = k < sizeof order / sizeof order[0] ? label[k] : OBJ_nid2sn(nid);
            fprintf(out, "%s%s=%s", first ? "" : ", ", sn ? sn : "?", (char *)u);
            first = false;
            OPENSSL_free(u);
        }
    }
    fclose(out);
    return buf;
}

char *ck_cert_details(X509 *cert)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return NULL;
    char serial[100], from[64], to[64], oid[80];
    ck_cert_serial_hex(cert, serial, sizeof serial);
    when(X509_get0_notBefore(cert), from, sizeof from);
    when(X509_get0_notAfter(cert), to, sizeof to);
    char *issuer = page_name(X509_get_issuer_name(cert));
    char *subject = page_name(X509_get_subject_name(cert));
    OBJ_obj2txt(oid, sizeof oid, OBJ_nid2obj(X509_get_signature_nid(cert)), 1);

    fprintf(out, "[\n  Version: V%ld\n", X509_get_version(cert) + 1);
    fprintf(out, "  Serial Number: %s\n", serial);
    fprintf(out, "  SignatureAlgorithm: %s (%s)\n", ck_cert_sigalg_name(cert), oid);
    fprintf(out, "  Issuer Name: %s\n", issuer ? issuer : "?");
    fprintf(out, "  Validity From: %s\n           To:   %s\n", from, to);
    fprintf(out, "  Subject Name: %s\n", subject ? subject : "?");
    EVP_PKEY *key = X509_get0_pubkey(cert);
    if (key) {
        int base = EVP_PKEY_get_base_id(key);
        OBJ_obj2txt(oid, sizeof oid, OBJ_nid2obj(base), 1);
        fprintf(out, "  Key: %s (%s)\n", base == EVP_PKEY_RSA ? "RSA" : base == EVP_PKEY_EC ? "EC" : "other", oid);
        uint8_t *pub = NULL;
        size_t pub_len = 0;
        if (ck_pubkey_tl_bytes(key, &pub, &pub_len, NULL) == 0) {
            fputs("    Key value:\n", out);
            for (size_t i = 0; i < pub_len; i++)
                fprintf(out, "%02x%s", pub[i], (i + 1) % 64 == 0 || i + 1 == pub_len ? "\n" : "");
            free(pub);
        }
    }
    int n = X509_get_ext_count(cert);
    fprintf(out, "  Extensions: %d present\n", n);
    for (int i = 0; i < n; i++) {
        X509_EXTENSION *ext = X509_get_ext(cert, i);
        ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);
        OBJ_obj2txt(oid, sizeof oid, obj, 1);
        int nid = OBJ_obj2nid(obj);
        fprintf(out, "  [\n     Extension: %s (OID.%s)\n     Critical: %s\n", nid ? OBJ_nid2ln(nid) : "unknown", oid,
                X509_EXTENSION_get_critical(ext) ? "true" : "false");
        BIO *bio = BIO_new(BIO_s_mem());
        if (bio && X509V3_EXT_print(bio, ext, 0, 0) == 1) {
            char *mem = NULL;
            long m = BIO_get_mem_data(bio, &mem);
            fprintf(out, "     %.*s\n", (int)m, mem);
        }
        BIO_free(bio);
        fputs("  ]\n", out);
    }
    fputs("]\n", out);
    free(issuer);
    free(subject);
    fclose(out);
    return buf;
}
