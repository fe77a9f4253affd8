/* Decisions the programs and the operations share: who may run a
 * publisher-only command, when there is a CTL to update, what a TFTP file
 * name is, whether a node's copy of a published file is the published one.
 * Each returns a reason; the operations word it for ck_err, the CLI in
 * CUCM's words. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/bytes.h"
#include "ctlkit/fileio.h"
#include "internal.h"

ck_cluster_refusal ck_cluster_publisher_only(ck_cluster *c, const char *node, ck_err *err)
{
    ck_node n;
    if (ck_store_get_node(c->store, node, &n, err) < 0)
        return CK_REFUSAL_NO_NODE;
    return n.publisher ? CK_REFUSAL_NONE : CK_REFUSAL_SUBSCRIBER;
}

ck_cluster_refusal ck_cluster_ctl_updatable(ck_cluster *c, const char *node, ck_err *err)
{
    ck_cluster_refusal r = ck_cluster_publisher_only(c, node, err);
    if (r != CK_REFUSAL_NONE)
        return r;
    return ck_cluster_security_mode(c) ? CK_REFUSAL_NONE : CK_REFUSAL_NONSECURE;
}

ck_cluster_refusal ck_cluster_tftp_name(const char *name)
{
    /* A file name in the node's TFTP directory, never a path nor a hidden
     * (staging) file; the length fits the store's name column. */
    bool ok = name[0] && name[0] != '.' && !strchr(name, '/') && strlen(name) < 128;
    return ok ? CK_REFUSAL_NONE : CK_REFUSAL_BAD_NAME;
}

ck_copy_state ck_cluster_compare_copy(const uint8_t *copy, size_t copy_len, const ck_file_row *published)
{
    if (!copy)
        return published ? CK_COPY_MISSING : CK_COPY_ABSENT;
    if (!published)
        return CK_COPY_UNPUBLISHED;
    return ck_bytes_equal(copy, copy_len, published->data, published->len) ? CK_COPY_OK : CK_COPY_DIFFERS;
}

ck_copy_state ck_cluster_copy_state(ck_cluster *c, const char *node, const char *name, char md5[33])
{
    char path[PATH_MAX];
    uint8_t *raw = NULL;
    size_t len = 0;
    if (md5)
        md5[0] = '\0';
    if (!ck_cluster_node_here(c, node))
        return CK_COPY_ELSEWHERE;
    ck_cluster_node_path(c, node, "tftp", name, path, sizeof path);
    if (ck_read_file(path, 1u << 20, &raw, &len, NULL) < 0)
        raw = NULL;
    if (raw && md5) {
        uint8_t d[EVP_MAX_MD_SIZE];
        unsigned dn = 0;
        EVP_Digest(raw, len, d, &dn, EVP_md5(), NULL);
        ck_hex(d, dn, 0, false, md5, 33);
    }
    /* The CTL is the cluster's (node ""), an ITL is the node's own. */
    ck_file_row pub;
    bool have = ck_store_get_file(c->store, strcmp(name, CK_CTL_NAME) == 0 ? "" : node, name, &pub, NULL) == 0;
    ck_copy_state st = ck_cluster_compare_copy(raw, len, have ? &pub : NULL);
    if (have)
        ck_file_row_clear(&pub);
    free(raw);
    return st;
}
