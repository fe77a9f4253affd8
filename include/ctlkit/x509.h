/* Certificates and keys: loading, CUCM-style names, fingerprints, creation.
 *
 * Ownership: every function that returns an X509 or EVP_PKEY through an
 * out-parameter hands a reference to the caller, who frees it with
 * X509_free / EVP_PKEY_free. */
#ifndef CTLKIT_X509_H
#define CTLKIT_X509_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/error.h"

/* Reads a certificate and/or a private key from a file: PEM holding a
 * certificate, a key or both (any order), or a DER certificate. cert and key
 * may be NULL when not wanted. A wanted certificate that is absent is an
 * error; a missing key is not (*key stays NULL) unless need_key is set. */
int ck_load_pem(const char *path, X509 **cert, EVP_PKEY **key, bool need_key, ck_err *err);
/* The same from memory. */
int ck_load_pem_mem(const void *data, size_t len, X509 **cert, EVP_PKEY **key, bool need_key, ck_err *err);
/* Flags of ck_load_key_pem. */
#define CK_KEY_PRIVATE_DIR 1u /* the key's folder must be private too (a cluster's keys/: 0700) */
#define CK_KEY_LOOSE_WARN 2u  /* loose permissions become *warning instead of a refusal */
/* Loads a file that holds a private key (and usually its certificate), the
 * one way every program reads a key: the file must be a regular file (no
 * symlink, no FIFO), owned by the running user or root, with no group or
 * other permission bits; with CK_KEY_PRIVATE_DIR the same holds for its
 * folder. A refusal names the file, its mode and the chmod that fixes it.
 * With CK_KEY_LOOSE_WARN, loose modes load anyway and the same sentence goes
 * to warning (empty when all is well). cert may be NULL; the key is
 * required. */
int ck_load_key_pem(const char *path, unsigned flags, X509 **cert, EVP_PKEY **key, char *warning, size_t warnsz,
                    ck_err *err);
/* Holding keys in memory, for a process that will lose the right to read
 * their files (ctlkitd leaving root). Once started, every key
 * ck_load_key_pem reads is kept (one copy per path, a new reference: on
 * OpenSSL's secure heap when that is set up), and a later ck_load_key_pem of
 * a kept path whose file is refused (EACCES, EPERM) returns the kept key and
 * certificate instead of failing. A file that can be read is always read,
 * so a changed key takes effect as before. Thread-safe. */
void ck_key_hold_start(void);
bool ck_key_holding(void);
/* Reads path's key now (ck_load_key_pem with flags), so that it is held. */
int ck_key_hold_load(const char *path, unsigned flags, ck_err *err);
/* The key held for path (a new reference) when its file cannot be read
 * now; NULL when it can, or nothing is held for it. */
EVP_PKEY *ck_key_held_unreadable(const char *path);
/* Frees every held key (OpenSSL wipes the numbers) and stops holding. */
void ck_key_hold_end(void);

/* Parses a DER certificate; fails unless it consumes exactly len bytes. */
X509 *ck_cert_from_der(const uint8_t *der, size_t len, ck_err *err);
/* DER encoding; *der is malloc'd (free with free()). */
int ck_cert_to_der(X509 *cert, uint8_t **der, size_t *len, ck_err *err);
/* PEM text; malloc'd, NUL-terminated. */
char *ck_cert_to_pem(X509 *cert);

/* Writes key then certificate as one PEM file, mode 0600, atomically. */
int ck_write_key_cert_pem(const char *path, EVP_PKEY *key, X509 *cert, ck_err *err);
int ck_write_cert_pem(const char *path, X509 *cert, ck_err *err);

/* CUCM-style name: CN=..;OU=..;O=..;L=..;ST=..;C=.. in that order, then any
 * other attributes by short name. Returns a malloc'd string. */
char *ck_name_cucm(const X509_NAME *name);
/* The name as the CTL Client writes a Security Token's names into a CTL:
 * lower-case short names in the certificate's own order, ';' between them,
 * and (quote_spaces, for the subject) values holding a space in double
 * quotes: cn="SAST-ADN008580ef ";ou=IPCBU;o="Cisco Systems" and, for the
 * issuer, cn=Cisco Manufacturing CA;o=Cisco Systems (the seed's CTL).
 * Returns a malloc'd string. */
char *ck_name_ctlclient(const X509_NAME *name, bool quote_spaces);
/* Name as OpenSSL's one-line RFC 2253 form (for details views); malloc'd. */
char *ck_name_oneline(const X509_NAME *name);

/* Serial as raw big-endian magnitude bytes (no DER sign byte), as the
 * trust-list SERIALNUMBER element stores it. Returns the byte count or -1. */
int ck_cert_serial(const X509 *cert, uint8_t *out, size_t outsz);
/* Serial as upper-case hex without separators (CUCM's "Serial Number:"). */
void ck_cert_serial_hex(const X509 *cert, char *out, size_t outsz);

/* Digest of the DER certificate: "md5", "sha1" or "sha256" (any EVP name). */
int ck_cert_fingerprint(X509 *cert, const char *md, uint8_t *out, unsigned *outlen);

/* Public key in the trust-list PUBLICKEY form: DER PKCS#1 RSAPublicKey for
 * RSA, X9.62 uncompressed point for EC. *out malloc'd. */
int ck_pubkey_tl_bytes(EVP_PKEY *pkey, uint8_t **out, size_t *len, ck_err *err);
/* The certificate's own signatureValue bytes (no BIT STRING header). */
int ck_cert_signature_bytes(const X509 *cert, const uint8_t **sig, size_t *len);

/* RSA modulus size in bits, or 0 when the key is not RSA. */
int ck_rsa_bits(EVP_PKEY *pkey);

/* The extended key usages of CUCM's CallManager (and ITLRecovery)
 * certificates: server and client authentication and IPsec End System
 * (1.3.6.1.5.5.7.3.5), the usage that makes them 10 bytes longer than a TVS
 * or CAPF certificate (docs/admin-guide.md, "Certificate shapes"). */
#define CK_EKU_CALLMANAGER "serverAuth,clientAuth,ipsecEndSystem"

typedef struct ck_cert_params {
    const char *cn, *ou, *o, *l, *st, *c;
    int rsa_bits;           /* 1024, 2048, 4096; ignored when curve is set */
    const char *curve;      /* NULL, "P-256" or "P-384" */
    const char *digest;     /* "sha1", "sha256" (default), "sha384", "sha512" */
    int days;               /* validity, ending 1 s before now + days (as CUCM); default 1825 */
    const uint8_t *serial;  /* NULL: 16 random bytes, top bit clear */
    size_t serial_len;
    const char *key_usage;  /* NULL: digitalSignature,keyEncipherment,dataEncipherment,keyCertSign */
    const char *ext_key_usage; /* NULL: serverAuth,clientAuth; CK_EKU_CALLMANAGER adds IPsec End System */
    X509 *issuer_cert;      /* NULL: self-signed */
    EVP_PKEY *issuer_key;
} ck_cert_params;

/* Creates a key and a certificate for it. */
int ck_cert_generate(const ck_cert_params *p, X509 **cert, EVP_PKEY **key, ck_err *err);

/* Parses "70CAF6..." or "70:CA:F6..." into bytes. */
int ck_hex_decode(const char *hex, uint8_t *out, size_t outsz, size_t *outlen);

#endif

#ifndef CTLKIT_X509_DETAILS
#define CTLKIT_X509_DETAILS
/* The certificate details CUCM's Certificate Management page shows
 * (version, serial, signature algorithm, issuer, validity, subject, key,
 * key value, extensions), as malloc'd text. */
char *ck_cert_details(X509 *cert);
/* Signature algorithm in Java's words, as CUCM prints it: "SHA256withRSA". */
const char *ck_cert_sigalg_name(const X509 *cert);
/* The warning a certificate expiring at not_after earns at now (seconds
 * since 1970): "expired", "7 days" (less than a week left), "30 days" (less
 * than 30) or NULL; *days_left (if not NULL) gets the whole days left,
 * negative once expired. */
const char *ck_cert_expiry_warning(int64_t not_after, int64_t now, long *days_left);
/* A certificate time (notBefore, notAfter) in seconds since 1970; false
 * when t is NULL or cannot be read. */
bool ck_asn1_time_seconds(const ASN1_TIME *t, int64_t *out);
#endif
