/* The device files of a node's TFTP folder: SEP<MAC>.cnf.xml for every
 * device of the store and, in mixed mode, SEP<MAC>.cnf.xml.sgn signed with
 * the node's own CallManager (TFTP) key; for an encrypted-config device
 * with an RSA LSC, SEP<MAC>.cnf.xml.enc.sgn and the stub .sgn instead. Part of materializing a node
 * (materialize.c): built when the device, the template, the certificates
 * or the mode changed (a file whose bytes would stay the same is not
 * rewritten, a .sgn that still verifies over the same content is not
 * re-signed), never per TFTP request; TFTP serves them from its cache. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlkit/bytes.h"
#include "ctlkit/device.h"
#include "ctlkit/encsgn.h"
#include "ctlkit/fileio.h"
#include "ctlkit/x509.h"
#include "internal.h"

/* How device files are written: atomically (a rename: TFTP and phones see
 * the old file or the new one, whole) but without fsync of the file or
 * the folder. They are derived: the store's commit that they follow is
 * durable, and every daemon start materializes the node (a full pass,
 * before TFTP loads its cache: src/ctlkitd/cluster_node.c) and rebuilds
 * any file that a crash left empty or partial, since a .cnf.xml is
 * compared byte for byte and a .sgn or .enc.sgn must parse, match the
 * configuration and verify. Two fsyncs per file were half of the kernel's
 * share of an enrolment (docs/benchmarks.md, "CAPF"). Everything else
 * (the CTL, ITLs, keys, devices.list) stays durable. */
#define DERIVED CK_WRITE_NO_SYNC

static const char *const device_suffixes[] = {".cnf.xml.enc.sgn", ".cnf.xml.sgn", ".cnf.xml"};

size_t ck__device_file_base(const char *entry)
{
    if (strncmp(entry, "SEP", 3) != 0 || strlen(entry) < 15)
        return 0;
    for (size_t i = 3; i < 15; i++)
        if (!strchr("0123456789ABCDEF", entry[i]))
            return 0;
    for (size_t i = 0; i < sizeof device_suffixes / sizeof device_suffixes[0]; i++) {
        size_t n = strlen(device_suffixes[i]);
        if (strncmp(entry + 15, device_suffixes[i], n) == 0 && (entry[15 + n] == 0 || entry[15 + n] == '.'))
            return 15 + n;
    }
    return 0;
}

/* The node's signer, loaded once per pass and only when a .sgn needs
 * signing. */
typedef struct signer_slot {
    X509 *cert;
    EVP_PKEY *key;
    bool tried;
} signer_slot;

/* Is the folder's .sgn already this content, signed by the node's current
 * CallManager certificate? */
static bool sgn_current(const char *path, const char *xml, size_t len, X509 *cert)
{
    uint8_t *disk = NULL;
    size_t dl = 0;
    ck_tl_file *f = NULL;
    bool ok = ck_read_file(path, len + 8192, &disk, &dl, NULL) == 0 && ck_sgn_parse(disk, dl, &f, NULL) == 0 &&
              f->content.n == len && memcmp(f->content.p, xml, len) == 0 && ck_tl_verify_with(f, cert, NULL) == 0;
    ck_tl_free(f);
    free(disk);
    return ok;
}

/* Loads the node's CallManager key the first time a file needs signing. */
static int signer_key(ck_cluster *c, const char *node, signer_slot *sg, const char *name, ck_err *err)
{
    if (sg->key)
        return 0;
    if (sg->tried)
        return ck_fail(err, CK_ESTATE, "no CallManager key to sign %s", name);
    sg->tried = true;
    X509_free(sg->cert);
    sg->cert = NULL;
    return ck__load_unit(c, node, CK_UNIT_CALLMANAGER, &sg->cert, &sg->key, err);
}

static int write_sgn(ck_cluster *c, const char *node, const ck_device_row *d, const char *xml, size_t len,
                     signer_slot *sg, size_t *written, ck_err *err)
{
    char name[64], path[PATH_MAX];
    snprintf(name, sizeof name, "%s.cnf.xml.sgn", d->name);
    ck_cluster_node_path(c, node, "tftp", name, path, sizeof path);
    if (!sg->cert && ck__load_unit(c, node, CK_UNIT_CALLMANAGER, &sg->cert, NULL, err) < 0)
        return -1;
    if (sgn_current(path, xml, len, sg->cert))
        return 0;
    if (signer_key(c, node, sg, name, err) < 0)
        return -1;
    ck_tl_signer s;
    ck_tl_signer_key(&s, sg->cert, sg->key);
    ck_tl_build_opts o = {.filename = name, .digest_alg = CK_DIGEST_SHA1};
    uint8_t *out = NULL;
    size_t olen = 0;
    bool changed = false;
    int rc = ck_sgn_build((const uint8_t *)xml, len, &s, &o, &out, &olen, err) == 0 &&
                     ck__bring_file_flags(c, node, name, out, olen, DERIVED, &changed, err) == 0
                 ? 0
                 : -1;
    free(out);
    *written += changed;
    return rc;
}

static bool remove_file(ck_cluster *c, const char *node, const char *name)
{
    char path[PATH_MAX];
    ck_cluster_node_path(c, node, "tftp", name, path, sizeof path);
    return unlink(path) == 0;
}

/* The certificate a device's configuration is encrypted for, or NULL
 * when it gets the signed full configuration: only in mixed mode, for an
 * encrypted profile with "TFTP Encrypted Config", and only to the LSC on
 * record (ctlkit keeps no MIC of a phone, so there is no MIC to fall back
 * on, unlike CUCM). An EC LSC cannot carry a wrapped AES key (no phone or
 * tool knows how), so such a phone keeps the signed full configuration
 * (docs/phones-capf.md). */
static X509 *encryption_recipient(ck_cluster *c, const ck_device_row *d, bool mixed)
{
    if (!mixed || !d->encrypted_config || strcmp(d->profile, "encrypted") != 0 || !d->lsc_pem)
        return NULL;
    /* The handle keeps the last LSC decoded: the same device's files are
     * often built again for the same certificate (one pass per node
     * here, a watcher's check after a CAPF worker's). Same text, same
     * certificate. */
    if (!c->lsc_pem || strcmp(c->lsc_pem, d->lsc_pem) != 0) {
        X509 *cert = NULL;
        char *pem = strdup(d->lsc_pem);
        if (!pem || ck_load_pem_mem(d->lsc_pem, strlen(d->lsc_pem), &cert, NULL, false, NULL) < 0) {
            free(pem);
            return NULL;
        }
        free(c->lsc_pem);
        X509_free(c->lsc_cert);
        c->lsc_pem = pem;
        c->lsc_cert = cert;
    }
    EVP_PKEY *pub = X509_get0_pubkey(c->lsc_cert);
    if (!pub || EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA || X509_up_ref(c->lsc_cert) != 1)
        return NULL;
    return c->lsc_cert;
}

/* Is the folder's .enc.sgn this configuration, signed by the node's
 * current CallManager certificate? Whom it was encrypted for cannot be
 * read back (the wrapped key is randomized); the stub .sgn beside it
 * names that certificate (certHash) and is written after it, so the pair
 * is current only when the stub is too. */
static bool enc_current(const char *path, const char *xml, size_t len, X509 *cert)
{
    uint8_t *disk = NULL, md[EVP_MAX_MD_SIZE];
    size_t dl = 0;
    unsigned ml = 0;
    ck_tl_file *f = NULL;
    bool ok = ck_read_file(path, 2 * len + 8192, &disk, &dl, NULL) == 0 && ck_sgn_parse(disk, dl, &f, NULL) == 0 &&
              f->enc.present && f->enc.digest_alg == CK_DIGEST_SHA1 &&
              EVP_Digest(xml, len, md, &ml, EVP_sha1(), NULL) == 1 && f->enc.digest.n == ml &&
              memcmp(f->enc.digest.p, md, ml) == 0 && ck_tl_verify_with(f, cert, NULL) == 0;
    ck_tl_free(f);
    free(disk);
    return ok;
}

/* SEP<MAC>.cnf.xml.enc.sgn encrypted for recipient and the stub .sgn
 * beside it (section 3.2 of the CAPF notes), both signed with the node's
 * CallManager key; rebuilt only when the configuration, the recipient or
 * the signer changed. The .enc.sgn goes first: a stub naming a certificate
 * never sits beside an older .enc.sgn for another. */
static int write_encrypted(ck_cluster *c, const char *node, const ck_device_row *d, const char *xml, size_t len,
                           X509 *recipient, signer_slot *sg, size_t *written, ck_err *err)
{
    char enc_name[64], sgn_name[64], enc_path[PATH_MAX], sgn_path[PATH_MAX];
    snprintf(enc_name, sizeof enc_name, "%s.cnf.xml.enc.sgn", d->name);
    snprintf(sgn_name, sizeof sgn_name, "%s.cnf.xml.sgn", d->name);
    ck_cluster_node_path(c, node, "tftp", enc_name, enc_path, sizeof enc_path);
    ck_cluster_node_path(c, node, "tftp", sgn_name, sgn_path, sizeof sgn_path);
    char *stub = NULL;
    size_t stub_len = 0;
    if (ck_encsgn_stub((const uint8_t *)xml, len, recipient, &stub, &stub_len, err) < 0) {
        ck_err_prefix(err, "%s", d->name);
        return -1;
    }
    int rc = 0;
    if (!sg->cert && ck__load_unit(c, node, CK_UNIT_CALLMANAGER, &sg->cert, NULL, err) < 0)
        rc = -1;
    bool enc_ok = rc == 0 && enc_current(enc_path, xml, len, sg->cert);
    bool stub_ok = rc == 0 && enc_ok && sgn_current(sgn_path, stub, stub_len, sg->cert);
    if (rc == 0 && !stub_ok && signer_key(c, node, sg, enc_name, err) < 0)
        rc = -1;
    ck_tl_signer s = {0};
    if (rc == 0 && !stub_ok)
        ck_tl_signer_key(&s, sg->cert, sg->key);
    if (rc == 0 && !stub_ok) {
        /* Rebuilt with the stub whenever the stub is not current: the old
         * .enc.sgn may be for the phone's previous certificate. */
        ck_tl_build_opts o = {.filename = enc_name, .digest_alg = CK_DIGEST_SHA1};
        uint8_t *out = NULL;
        size_t olen = 0;
        bool changed = false;
        rc = ck_encsgn_build((const uint8_t *)xml, len, &s, &o, recipient, &out, &olen, err) == 0 &&
                     ck__bring_file_flags(c, node, enc_name, out, olen, DERIVED, &changed, err) == 0
                 ? 0
                 : -1;
        free(out);
        *written += changed;
    }
    if (rc == 0 && !stub_ok) {
        ck_tl_build_opts o = {.filename = sgn_name, .digest_alg = CK_DIGEST_SHA1};
        uint8_t *out = NULL;
        size_t olen = 0;
        bool changed = false;
        rc = ck_sgn_build((const uint8_t *)stub, stub_len, &s, &o, &out, &olen, err) == 0 &&
                     ck__bring_file_flags(c, node, sgn_name, out, olen, DERIVED, &changed, err) == 0
                 ? 0
                 : -1;
        free(out);
        *written += changed;
    }
    free(stub);
    return rc;
}

static int one_device(ck_cluster *c, const char *node, const ck_device_config_ctx *ctx, const ck_device_row *d,
                      signer_slot *sg, size_t *written, size_t *removed, ck_err *err)
{
    char *xml = NULL;
    size_t len = 0;
    char name[64];
    c->devices_done++;
    if (ck_device_config_xml(ctx, d, &xml, &len, err) < 0)
        return -1;
    X509 *recipient = encryption_recipient(c, d, ctx->mixed);
    int rc = 0;
    if (recipient) {
        /* The configuration exists only encrypted: no plaintext copy in
         * the folder (TFTP would also sign it on request as .sgn). */
        rc = write_encrypted(c, node, d, xml, len, recipient, sg, written, err);
        snprintf(name, sizeof name, "%s.cnf.xml", d->name);
        if (rc == 0)
            *removed += remove_file(c, node, name);
        X509_free(recipient);
        free(xml);
        return rc;
    }
    snprintf(name, sizeof name, "%s.cnf.xml", d->name);
    bool changed = false;
    if (ck__bring_file_flags(c, node, name, (const uint8_t *)xml, len, DERIVED, &changed, err) < 0) {
        free(xml);
        return -1;
    }
    *written += changed;
    if (ctx->mixed) {
        rc = write_sgn(c, node, d, xml, len, sg, written, err);
    } else {
        /* Non-secure: phones take the plain file; a .sgn from mixed mode
         * would carry the old security mode. */
        snprintf(name, sizeof name, "%s.cnf.xml.sgn", d->name);
        *removed += remove_file(c, node, name);
    }
    /* No LSC any more, another profile, or non-secure: no encrypted file. */
    snprintf(name, sizeof name, "%s.cnf.xml.enc.sgn", d->name);
    *removed += remove_file(c, node, name);
    free(xml);
    return rc;
}

static int row_order(const void *a, const void *b)
{
    return strcmp(((const ck_device_row *)a)->name, ((const ck_device_row *)b)->name);
}

static int by_name(const void *key, const void *elem)
{
    return strcmp(key, ((const ck_device_row *)elem)->name);
}

/* run/devices.list: the devices whose files this folder got from ctlkit,
 * one name a line. Only their files are ever removed: a SEP<MAC>.cnf.xml
 * the admin put there by hand stays (until a device of that name takes
 * it over). */
static void list_path(ck_cluster *c, const char *node, char *out, size_t outsz)
{
    ck_cluster_node_path(c, node, "run", "devices.list", out, outsz);
}

/* Removes the files of listed devices that are no longer in the store
 * (devs sorted by name), then records the store's devices as the list. */
static size_t remove_orphans(ck_cluster *c, const char *node, const ck_device_row *devs, size_t n)
{
    char path[PATH_MAX];
    list_path(c, node, path, sizeof path);
    uint8_t *old = NULL;
    size_t len = 0, removed = 0;
    ck_buf now;
    ck_buf_init(&now, 0);
    for (size_t i = 0; i < n; i++) {
        ck_buf_bytes(&now, devs[i].name, strlen(devs[i].name));
        ck_buf_u8(&now, '\n');
    }
    bool same = ck_read_file(path, 64u * 1024 * 1024, &old, &len, NULL) == 0 && len == now.len &&
                (len == 0 || memcmp(old, now.data, len) == 0);
    if (!same && old) {
        char *text = realloc(old, len + 1);
        if (text) {
            old = (uint8_t *)text;
            text[len] = 0;
            for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                if (ck_device_check_name(line, NULL) < 0 || (n && bsearch(line, devs, n, sizeof *devs, by_name)))
                    continue;
                for (size_t k = 0; k < sizeof device_suffixes / sizeof device_suffixes[0]; k++) {
                    char name[64];
                    snprintf(name, sizeof name, "%s%s", line, device_suffixes[k]);
                    removed += remove_file(c, node, name);
                }
            }
        }
    }
    if (!same && !now.failed) {
        char run[PATH_MAX];
        ck_cluster_node_path(c, node, "run", NULL, run, sizeof run);
        /* A list that cannot be written only means files may stay behind. */
        if (ck_mkdirs(run, 0755, NULL) == 0)
            CK_IGNORE(ck_write_file_atomic(path, now.data ? (const void *)now.data : "", now.len, 0644, NULL));
    }
    free(old);
    ck_buf_free(&now);
    return removed;
}

static void report_files(ck_materialize_report *r, size_t written, size_t removed)
{
    if (written)
        ck__materialize_note(r, "%zu device configuration file%s written from the cluster database", written,
                             written == 1 ? "" : "s");
    if (removed)
        ck__materialize_note(r, "%zu device configuration file%s removed", removed, removed == 1 ? "" : "s");
}

int ck__materialize_devices(ck_cluster *c, const char *node, ck_materialize_report *r, ck_err *err)
{
    ck_device_row *devs = NULL;
    size_t n = 0;
    if (ck_store_list_devices(c->store, &devs, &n, err) < 0)
        return -1;
    ck_device_config_ctx ctx = {0};
    signer_slot sg = {0};
    size_t written = 0, removed = 0, failed = 0;
    int rc = 0;
    if (n && ck_device_config_context(c, &ctx, err) < 0)
        rc = -1;
    if (rc == 0 && n)
        qsort(devs, n, sizeof *devs, row_order); /* the store's collation may differ from bytes */
    /* The list first: a device's files exist only while it is listed. */
    if (rc == 0)
        removed += remove_orphans(c, node, devs, n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        ck_err e2 = {0};
        if (one_device(c, node, &ctx, &devs[i], &sg, &written, &removed, &e2) < 0 && failed++ == 0)
            *err = e2; /* the others still get their files */
    }
    report_files(r, written, removed);
    if (failed) {
        ck_err_prefix(err, "%zu device(s) without configuration files", failed);
        rc = -1;
    }
    X509_free(sg.cert);
    EVP_PKEY_free(sg.key);
    ck_device_config_ctx_clear(&ctx);
    ck_device_rows_free(devs, n);
    return rc;
}

int ck__materialize_named_devices(ck_cluster *c, const char *node, const char *const *names, size_t n,
                                  ck_materialize_report *r, ck_err *err)
{
    ck_device_config_ctx ctx = {0};
    signer_slot sg = {0};
    size_t written = 0, removed = 0;
    int rc = n ? ck_device_config_context(c, &ctx, err) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        ck_device_row d = {0};
        rc = ck_store_get_device(c->store, names[i], &d, err);
        if (rc == 0)
            rc = one_device(c, node, &ctx, &d, &sg, &written, &removed, err);
        if (rc == 0 && c->written_at >= 0)
            ck__device_written(c, node, names[i], c->written_at);
        ck_device_row_clear(&d);
    }
    report_files(r, written, removed);
    X509_free(sg.cert);
    EVP_PKEY_free(sg.key);
    ck_device_config_ctx_clear(&ctx);
    return rc;
}
