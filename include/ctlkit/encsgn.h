/* Encrypted configuration files (.enc.sgn) and the stub .sgn that goes
 * beside them (docs/capf.md, "Encrypted configuration files").
 *
 * An .enc.sgn is a .sgn whose header is version 2.0 and carries an
 * encryption block: the content is AES-128-CBC ciphertext, its key wrapped
 * with the recipient phone's RSA public key (its LSC or MIC). It is parsed
 * with ck_sgn_parse (f->enc) and verified with ck_tl_verify_with like any
 * .sgn; ck_encsgn_decrypt gives the plaintext back. */
#ifndef CTLKIT_ENCSGN_H
#define CTLKIT_ENCSGN_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ctlkit/error.h"
#include "ctlkit/trustlist.h"

/* Encrypts content for recipient (an RSA certificate; EC is refused, as no
 * phone or tool knows how to wrap a key for it) and signs the result like
 * ck_sgn_build. opts->digest_alg is both the signature's digest and that of
 * the plaintext digest in the header (SHA-1 by default). *out is malloc'd. */
int ck_encsgn_build(const uint8_t *content, size_t content_len, const ck_tl_signer *signer,
                    const ck_tl_build_opts *opts, X509 *recipient, uint8_t **out, size_t *out_len, ck_err *err);

/* Decrypts a parsed .enc.sgn with the recipient's private key and checks
 * the plaintext against the header's digest. Does NOT check the signature
 * (ck_tl_verify_with does). Errors: CK_EINVAL not an .enc.sgn or not an RSA
 * key; CK_EDENIED the key does not open it (another phone's key, or the
 * file was altered). *out is malloc'd. */
int ck_encsgn_decrypt(const ck_tl_file *f, EVP_PKEY *key, uint8_t **out, size_t *out_len, ck_err *err);

/* The stub configuration signed beside an .enc.sgn: the XML declaration,
 * then <device> with fullConfig false, the original ipAddressMode,
 * loadInformation, capfAuthMode and capfList elements (those present, as
 * written), certHash = MD5 of the recipient certificate (lower-case hex)
 * and encrConfig true, so that a phone without its key can still reach
 * CAPF. config must be a phone configuration (root element <device>).
 * *out is malloc'd and NUL-terminated. */
int ck_encsgn_stub(const uint8_t *config, size_t config_len, X509 *recipient, char **out, size_t *out_len,
                   ck_err *err);

#endif
