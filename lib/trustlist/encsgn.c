/* .enc.sgn: building (encrypt for a phone, then sign as a .sgn with the
 * encryption block in the header) and decrypting (docs/capf.md). The AES
 * key lives only on the stack and is wiped on every path. */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/bytes.h"
#include "ctlkit/encsgn.h"
#include "ctlkit/x509.h"
#include "internal.h"
#include "tags.h"

#define AES_KEY_LEN 16
#define AES_BLOCK 16
/* Phones pad with carriage returns, not PKCS#7 (docs/capf.md). */
#define PAD_BYTE 0x0D

static int aes_cbc(bool encrypt, const uint8_t key[AES_KEY_LEN], const uint8_t iv[AES_BLOCK], const uint8_t *in,
                   size_t n, uint8_t *out, ck_err *err)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0, rc = -1;
    if (n > INT32_MAX) {
        EVP_CIPHER_CTX_free(c);
        return ck_fail(err, CK_ELIMIT, "content of %zu bytes is too large to encrypt", n);
    }
    if (!c || EVP_CipherInit_ex(c, EVP_aes_128_cbc(), NULL, key, iv, encrypt) != 1 ||
        EVP_CIPHER_CTX_set_padding(c, 0) != 1 || EVP_CipherUpdate(c, out, &l1, in, (int)n) != 1 ||
        EVP_CipherFinal_ex(c, out + l1, &l2) != 1 || (size_t)(l1 + l2) != n) {
        ck_fail_ssl(err, CK_ECRYPTO, "AES-128-CBC %s failed", encrypt ? "encryption" : "decryption");
        goto out;
    }
    rc = 0;
out:
    EVP_CIPHER_CTX_free(c);
    return rc;
}

static int rsa_wrap(EVP_PKEY *pub, const uint8_t key[AES_KEY_LEN], uint8_t **wrapped, size_t *n, ck_err *err)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
    int rc = -1;
    *wrapped = NULL;
    if (!c || EVP_PKEY_encrypt_init(c) != 1 || EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_encrypt(c, NULL, n, key, AES_KEY_LEN) != 1 || !(*wrapped = malloc(*n)) ||
        EVP_PKEY_encrypt(c, *wrapped, n, key, AES_KEY_LEN) != 1) {
        ck_fail_ssl(err, CK_ECRYPTO, "cannot wrap the AES key for the recipient");
        free(*wrapped);
        *wrapped = NULL;
        goto out;
    }
    rc = 0;
out:
    EVP_PKEY_CTX_free(c);
    return rc;
}

static void put(ck_buf *b, uint8_t tag, const void *p, size_t n)
{
    ck_buf_u8(b, tag);
    ck_buf_u16(b, (uint16_t)n);
    ck_buf_bytes(b, p, n);
}

/* Tags 16 {17 {18, 19, 20}, 21 {22, 23, 24, 25}}, 26, 27 in the order
 * enccnf writes them. */
static void put_block(ck_buf *b, const uint8_t iv[AES_BLOCK], unsigned pad, const uint8_t *wrapped, size_t wn,
                      unsigned digest_alg, const uint8_t *digest, size_t dn)
{
    size_t iv_info = 4 + 19 + 5, key_info = 4 + 5 + 4 + 3 + wn;
    ck_buf_u8(b, ENC_INFO);
    ck_buf_u16(b, (uint16_t)(3 + iv_info + 3 + key_info));
    ck_buf_u8(b, ENC_IV_INFO);
    ck_buf_u16(b, (uint16_t)iv_info);
    put(b, ENC_IV_FLAG, &(uint8_t){0}, 1);
    put(b, ENC_IV, iv, AES_BLOCK);
    put(b, ENC_PAD_LEN, (uint8_t[]){0, (uint8_t)pad}, 2);
    ck_buf_u8(b, ENC_KEY_INFO);
    ck_buf_u16(b, (uint16_t)key_info);
    put(b, ENC_KEY_FLAG, &(uint8_t){0}, 1);
    put(b, ENC_KEY_BITS, (uint8_t[]){(uint8_t)((8 * wn) >> 8), (uint8_t)(8 * wn)}, 2);
    put(b, ENC_KEY_ALG, &(uint8_t){1}, 1);
    put(b, ENC_KEY, wrapped, wn);
    put(b, ENC_DIGEST_ALG, &(uint8_t){(uint8_t)digest_alg}, 1);
    put(b, ENC_DIGEST, digest, dn);
}

int ck_encsgn_build(const uint8_t *content, size_t content_len, const ck_tl_signer *signer,
                    const ck_tl_build_opts *opts, X509 *recipient, uint8_t **out, size_t *out_len, ck_err *err)
{
    ck_tl_build_opts o = opts ? *opts : (ck_tl_build_opts){0};
    unsigned digest_alg = o.digest_alg ? o.digest_alg : CK_DIGEST_SHA1;
    const EVP_MD *md = ck_digest_md(digest_alg);
    EVP_PKEY *pub = recipient ? X509_get0_pubkey(recipient) : NULL;
    if (!md)
        return ck_fail(err, CK_EINVAL, "unknown digest algorithm %u", digest_alg);
    if (!pub)
        return ck_fail_ssl(err, CK_EINVAL, "the recipient certificate has no usable public key");
    if (EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA)
        return ck_fail(err, CK_EINVAL,
                       "the recipient certificate's key is %s; encrypted configurations need an RSA key (the "
                       "phone's RSA LSC or MIC), as phones unwrap the AES key with RSA only",
                       EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC ? "EC" : OBJ_nid2sn(EVP_PKEY_get_base_id(pub)));
    if (EVP_PKEY_get_bits(pub) > 8 * 4096)
        return ck_fail(err, CK_EINVAL, "the recipient's RSA key is larger than a header can carry");

    uint8_t key[AES_KEY_LEN], iv[AES_BLOCK], digest[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    unsigned pad = AES_BLOCK - (unsigned)(content_len % AES_BLOCK);
    size_t n = content_len + pad;
    uint8_t *plain = malloc(n), *cipher = malloc(n), *wrapped = NULL;
    size_t wn = 0;
    int rc = -1;
    ck_buf block;
    ck_buf_init(&block, 0);
    if (!plain || !cipher) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto out;
    }
    if (RAND_bytes(key, sizeof key) != 1 || RAND_bytes(iv, sizeof iv) != 1) {
        ck_fail_ssl(err, CK_ECRYPTO, "no random bytes for the AES key");
        goto out;
    }
    if (EVP_Digest(content, content_len, digest, &dn, md, NULL) != 1) {
        ck_fail_ssl(err, CK_ECRYPTO, "cannot digest the content");
        goto out;
    }
    if (content_len)
        memcpy(plain, content, content_len);
    memset(plain + content_len, PAD_BYTE, pad);
    if (aes_cbc(true, key, iv, plain, n, cipher, err) < 0 || rsa_wrap(pub, key, &wrapped, &wn, err) < 0)
        goto out;
    put_block(&block, iv, pad, wrapped, wn, digest_alg, digest, dn);
    if (block.failed) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto out;
    }
    o.digest_alg = digest_alg;
    o.ver_major = 2;
    o.ver_minor = 0;
    rc = ck__sgn_build_ext(cipher, n, signer, &o, block.data, block.len, out, out_len, err);
out:
    OPENSSL_cleanse(key, sizeof key);
    if (plain)
        OPENSSL_cleanse(plain, n);
    free(plain);
    free(cipher);
    free(wrapped);
    ck_buf_free(&block);
    return rc;
}

int ck_encsgn_decrypt(const ck_tl_file *f, EVP_PKEY *key, uint8_t **out, size_t *out_len, ck_err *err)
{
    const ck_sgn_enc *e = &f->enc;
    *out = NULL;
    *out_len = 0;
    if (!e->present)
        return ck_fail(err, CK_EINVAL, "not an encrypted file (header version %u.%u has no encryption block)",
                       f->ver_major, f->ver_minor);
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
        return ck_fail(err, CK_EINVAL, "the private key must be RSA (the phone's LSC or MIC key)");
    if ((size_t)EVP_PKEY_get_size(key) != e->wrapped_key.n)
        return ck_fail(err, CK_EDENIED,
                       "the file's key was wrapped for a %zu-bit RSA key, this private key is %d-bit (another "
                       "phone's key?)",
                       8 * e->wrapped_key.n, EVP_PKEY_get_bits(key));

    /* Room for whatever the unwrap yields; only 16 bytes are a key. With
     * OpenSSL's implicit rejection a wrong key may "succeed" with random
     * bytes: the padding and digest checks below catch that. */
    uint8_t aes[512];
    size_t an = sizeof aes;
    uint8_t *plain = malloc(f->content.n ? f->content.n : 1);
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    int rc = -1;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
    if (!plain || !c) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto out;
    }
    if (EVP_PKEY_decrypt_init(c) != 1 || EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) != 1 ||
        e->wrapped_key.n > sizeof aes || EVP_PKEY_decrypt(c, aes, &an, e->wrapped_key.p, e->wrapped_key.n) != 1 ||
        an != AES_KEY_LEN) {
        ERR_clear_error();
        ck_fail(err, CK_EDENIED, "this private key does not unwrap the file's AES key (another phone's key?)");
        goto out;
    }
    if (aes_cbc(false, aes, e->iv, f->content.p, f->content.n, plain, err) < 0)
        goto out;
    size_t n = f->content.n - e->pad_len; /* pad_len <= 16 <= content.n: the parser checked */
    for (size_t i = n; i < f->content.n; i++)
        if (plain[i] != PAD_BYTE) {
            ck_fail(err, CK_EDENIED,
                    "the decrypted content does not end in its %u padding bytes (wrong key, or the file was "
                    "altered)",
                    e->pad_len);
            goto out;
        }
    if (EVP_Digest(plain, n, digest, &dn, ck_digest_md(e->digest_alg), NULL) != 1) {
        ck_fail_ssl(err, CK_ECRYPTO, "cannot digest the decrypted content");
        goto out;
    }
    if (dn != e->digest.n || CRYPTO_memcmp(digest, e->digest.p, dn) != 0) {
        ck_fail(err, CK_EDENIED, "the decrypted content does not match the header's %s digest (wrong key, or the "
                                 "file was altered)",
                ck_digest_name(e->digest_alg));
        goto out;
    }
    *out = plain;
    *out_len = n;
    plain = NULL;
    rc = 0;
out:
    OPENSSL_cleanse(aes, sizeof aes);
    if (plain) {
        OPENSSL_cleanse(plain, f->content.n);
        free(plain);
    }
    EVP_PKEY_CTX_free(c);
    return rc;
}
