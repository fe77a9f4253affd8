/* CTL / ITL / .sgn codec: parse, build, sign, verify (docs/trustlist-format.md).
 *
 * A parsed file owns a private copy of the input bytes; every span in it
 * points into that copy, so a ck_tl_file is one allocation tree freed by
 * ck_tl_free. Strings are spans without their trailing NUL. */
#ifndef CTLKIT_TRUSTLIST_H
#define CTLKIT_TRUSTLIST_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "ctlkit/error.h"

/* Phones refuse trust lists past 64 KiB; so does the builder. */
#define CK_TL_MAX_BUILD 65535u

/* The FILENAME a CTL and an ITL carry, and the names TFTP serves them by
 * (the per-phone CTLSEP<MAC>.tlv and ITLSEP<MAC>.tlv are the same bytes). */
#define CK_CTL_NAME "CTLFile.tlv"
#define CK_ITL_NAME "ITLFile.tlv"
/* The parser reads at most this much (habit 4: cap before allocating). */
#define CK_TL_MAX_PARSE (1024u * 1024u)
/* A file may carry at most two SAST records. */
#define CK_TL_MAX_SAST 2

enum ck_role {
    CK_ROLE_SAST = 0,
    CK_ROLE_CCM = 1,
    CK_ROLE_CCM_TFTP = 2,
    CK_ROLE_TFTP = 3,
    CK_ROLE_CAPF = 4,
    CK_ROLE_APP_SERVER = 7,
    CK_ROLE_TVS = 21,
};

enum ck_digest { CK_DIGEST_SHA1 = 1, CK_DIGEST_SHA256 = 2, CK_DIGEST_SHA512 = 3 };

/* "SAST", "CCM+TFTP", ... ; NULL for an unknown code. */
const char *ck_role_name(unsigned role);
/* What `show ctl` prints: "System Administrator Security Token", "CCM+TFTP"... */
const char *ck_role_label(unsigned role);
/* Accepts the names above, case-insensitive, and "ccm-tftp"/"app-server". */
int ck_role_parse(const char *s, unsigned *role);
const char *ck_digest_name(unsigned alg); /* "SHA1", "SHA256", "SHA512"; NULL if unknown */
const EVP_MD *ck_digest_md(unsigned alg);
int ck_digest_parse(const char *s, unsigned *alg);

typedef struct ck_span {
    const uint8_t *p; /* NULL when the element is absent */
    size_t n;
} ck_span;

/* One element as it stood in the file, in file order, for `show ctl`. */
typedef struct ck_tl_elem {
    uint8_t tag;
    uint8_t depth;   /* 0 top level, 1 inside SIGNERID/SIGNATUREINFO, 2 inside SIGNATUREALGOINFO */
    uint16_t len;    /* the length field (1 for padding) */
    size_t off;      /* offset of the tag byte in the file */
} ck_tl_elem;

typedef struct ck_tl_record {
    size_t offset;       /* of the record's first byte */
    uint16_t length;     /* RECORDLENGTH */
    ck_span dns_name, subject, issuer, serial, pubkey, cert_signature, cert, cert_hash;
    bool has_function, has_ip, has_hash_alg;
    uint16_t function;
    uint8_t ip[4];
    uint8_t hash_alg;
    size_t elem_first, elem_count; /* this record's elements in ck_tl_file.elems */
} ck_tl_record;

/* The encryption block of an .enc.sgn (header version 2.0; docs/capf.md,
 * "Encrypted configuration files"): tags 16-27 after TIMESTAMP. */
typedef struct ck_sgn_enc {
    bool present;
    uint8_t iv_flag;      /* tag 18: 0 in every file seen, meaning unknown */
    uint8_t iv[16];       /* tag 19: the AES-CBC IV */
    uint16_t pad_len;     /* tag 20: 0x0D bytes appended to the plaintext, 1..16 */
    uint8_t key_flag;     /* tag 22: 0 in every file seen, meaning unknown */
    uint16_t key_bits;    /* tag 23: 8 x the wrapped key's length */
    uint8_t key_alg;      /* tag 24: 1 = AES-128 (the only one known) */
    ck_span wrapped_key;  /* tag 25: the AES key, RSA PKCS#1 v1.5 for the recipient */
    uint8_t digest_alg;   /* tag 26: CK_DIGEST_* of tag 27 */
    ck_span digest;       /* tag 27: digest of the plaintext (before padding) */
} ck_sgn_enc;

typedef struct ck_tl_file {
    uint8_t *raw;
    size_t raw_len;

    uint8_t ver_major, ver_minor;
    uint16_t header_len;
    bool has_signer_version;
    uint8_t sv_major, sv_minor;
    ck_span signer_name, signer_serial, signer_issuer;
    uint8_t digest_alg, sig_alg, sig_modulus;
    ck_span signature;
    size_t sig_elem_off;  /* offset of the SIGNATURE element's tag byte */
    ck_span filename;
    bool has_timestamp;
    uint32_t timestamp;
    size_t header_elem_count; /* elems[0 .. header_elem_count) are the header's */

    ck_tl_elem *elems;
    size_t n_elems;
    ck_tl_record *records;
    size_t n_records;
    int signer_index;     /* the SAST record that signed, -1 for .sgn files */

    ck_span content;      /* .sgn only: the original bytes after the header
                           * (.enc.sgn: the ciphertext) */
    ck_sgn_enc enc;       /* .enc.sgn only (enc.present) */
} ck_tl_file;

/* Parses a CTL or ITL strictly (see the format page): unknown tags,
 * lengths past their container, a HEADERLENGTH mismatch, a missing signer
 * record, two matching SAST records, more than two SAST records and
 * trailing bytes are errors naming the offset. The signature is NOT
 * checked: call ck_tl_verify. */
int ck_tl_parse(const uint8_t *data, size_t len, ck_tl_file **out, ck_err *err);
/* Parses a .sgn file: the header, then everything after it is content.
 * Also parses an .enc.sgn (version 2.0 with its encryption block, checked
 * as strictly as the rest: f->enc); see ctlkit/encsgn.h to decrypt. */
int ck_sgn_parse(const uint8_t *data, size_t len, ck_tl_file **out, ck_err *err);
void ck_tl_free(ck_tl_file *f);

/* Verifies a parsed CTL/ITL with its signer record's certificate.
 * 0 = valid; -1 with CK_ESIGNATURE = well-formed but the signature does not
 * verify; other codes = could not check (bad key, unknown digest ...). */
int ck_tl_verify(const ck_tl_file *f, ck_err *err);
/* Verifies with a given certificate (for .sgn, or a phone's own check). */
int ck_tl_verify_with(const ck_tl_file *f, X509 *signer, ck_err *err);
/* The signer record's certificate, parsed (caller frees), or NULL. */
X509 *ck_tl_signer_cert(const ck_tl_file *f, ck_err *err);
/* True when FILENAME names an ITL (ITL*.tlv). */
bool ck_tl_is_itl(const ck_tl_file *f);

/* --- building --- */

/* Signs data with a digest: the trust-list builder calls this once. A file
 * key (ck_tl_signer_key) or a PKCS#11 token (lib/token) provides it. */
typedef int (*ck_sign_fn)(void *ctx, unsigned digest_alg, const uint8_t *data, size_t len,
                          uint8_t *sig, size_t sig_max, size_t *sig_len, ck_err *err);

typedef struct ck_tl_signer {
    X509 *cert;      /* the signer's certificate (borrowed) */
    ck_sign_fn sign;
    void *ctx;
} ck_tl_signer;

/* A signer backed by a private key in memory (borrowed, not copied). */
void ck_tl_signer_key(ck_tl_signer *s, X509 *cert, EVP_PKEY *key);

typedef struct ck_tl_entry {
    unsigned role;
    X509 *cert;            /* borrowed; NULL makes a blank record (tags 1, 2, 4, 10) */
    const char *dns_name;  /* NULL: the certificate's CN; "" writes a lone NUL */
    uint8_t ip[4];         /* 0.0.0.0 when unknown */
    bool no_cert_signature;/* eToken records carry no SIGNATURE element */
    bool token_names;      /* SUBJECTNAME/ISSUERNAME as the CTL Client writes a
                            * Security Token's (ck_name_ctlclient) */
} ck_tl_entry;

typedef struct ck_tl_build_opts {
    const char *filename;  /* FILENAME element, e.g. "CTLFile.tlv" */
    unsigned digest_alg;   /* CK_DIGEST_*; 0 means SHA-1 */
    uint32_t timestamp;    /* 0 means now */
    unsigned signer_version; /* 0 none (CUCM 10.5), 10 = 1.0, 11 = 1.1 */
    uint8_t ver_major, ver_minor; /* 0.0 means 1.2 */
    bool token_signer_names; /* SIGNERNAME/CANAME in the CTL Client's token style */
} ck_tl_build_opts;

/* Builds and signs a trust list: header in Cisco's element order, records
 * in the order given. The signer must be RSA and must match one of the SAST
 * entries (serial and issuer). Refuses output over CK_TL_MAX_BUILD.
 * *out is malloc'd. */
int ck_tl_build(const ck_tl_entry *entries, size_t n, const ck_tl_signer *signer,
                const ck_tl_build_opts *opts, uint8_t **out, size_t *out_len, ck_err *err);
/* Builds a .sgn: header (version 1.0 unless set) followed by content. */
int ck_sgn_build(const uint8_t *content, size_t content_len, const ck_tl_signer *signer,
                 const ck_tl_build_opts *opts, uint8_t **out, size_t *out_len, ck_err *err);

/* --- showing --- */

typedef struct ck_tl_show_info {
    const char *kind;   /* "CTL" or "ITL" (NULL: from FILENAME) */
    time_t mtime;       /* last modification, 0 unknown */
    bool verified;      /* result of ck_tl_verify */
    const char *verify_error; /* why not, when !verified */
} ck_tl_show_info;

/* CUCM's `show ctl` layout. raw/raw_len are the file's bytes (for the
 * checksums); f may be NULL when the file could not be parsed, then
 * parse_error says why. */
void ck_tl_show_text(FILE *out, const uint8_t *raw, size_t raw_len, const ck_tl_file *f,
                     const ck_tl_show_info *info, const char *parse_error);
/* `show ctl` when there is no file at all. */
void ck_tl_show_missing(FILE *out, const char *kind);
/* The same facts as JSON (docs/json.md); returns a malloc'd string. */
char *ck_tl_show_json(const uint8_t *raw, size_t raw_len, const ck_tl_file *f,
                      const ck_tl_show_info *info, const char *parse_error);

#endif
