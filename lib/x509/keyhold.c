/* Keys held in memory for a process that gives up the right to read their
 * files (ctlkitd after leaving root: docs/installing.md, "The key folder
 * after the switch"). ck_load_key_pem adds every key it reads while holding
 * is on, and falls back to the held copy when the file is refused
 * (EACCES): the services keep loading keys the one way, by path. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ctlkit/x509.h"
#include "internal.h"

/* A node has four units' keys, a standalone daemon two files; ctlkit-web
 * holds every node folder's on its host (a folder cluster: all of them). */
#define HELD_MAX 64

typedef struct held_key {
    char *path;
    X509 *cert; /* may be NULL: a key file without its certificate */
    EVP_PKEY *key;
} held_key;

static pthread_mutex_t hold_lock = PTHREAD_MUTEX_INITIALIZER;
static bool holding;
static held_key held[HELD_MAX];

void ck_key_hold_start(void)
{
    pthread_mutex_lock(&hold_lock);
    holding = true;
    pthread_mutex_unlock(&hold_lock);
}

bool ck_key_holding(void)
{
    pthread_mutex_lock(&hold_lock);
    bool on = holding;
    pthread_mutex_unlock(&hold_lock);
    return on;
}

static held_key *find(const char *path)
{
    for (size_t i = 0; i < HELD_MAX; i++)
        if (held[i].path && strcmp(held[i].path, path) == 0)
            return &held[i];
    return NULL;
}

void ck__key_hold_keep(const char *path, X509 *cert, EVP_PKEY *key)
{
    pthread_mutex_lock(&hold_lock);
    held_key *h = holding ? find(path) : NULL;
    for (size_t i = 0; holding && !h && i < HELD_MAX; i++)
        if (!held[i].path && (held[i].path = strdup(path)))
            h = &held[i];
    /* The newest copy read from the file wins: the owner reads it again. */
    if (h && EVP_PKEY_up_ref(key) == 1) {
        if (cert && X509_up_ref(cert) != 1)
            cert = NULL;
        X509_free(h->cert);
        EVP_PKEY_free(h->key);
        h->cert = cert;
        h->key = key;
    }
    pthread_mutex_unlock(&hold_lock);
}

bool ck__key_hold_take(const char *path, X509 **cert, EVP_PKEY **key)
{
    pthread_mutex_lock(&hold_lock);
    held_key *h = holding ? find(path) : NULL;
    bool ok = h && h->key && EVP_PKEY_up_ref(h->key) == 1;
    if (ok) {
        *key = h->key;
        if (cert) {
            *cert = h->cert && X509_up_ref(h->cert) == 1 ? h->cert : NULL;
        }
    }
    pthread_mutex_unlock(&hold_lock);
    return ok;
}

int ck_key_hold_load(const char *path, unsigned flags, ck_err *err)
{
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    int rc = ck_load_key_pem(path, flags, &cert, &key, NULL, 0, err); /* kept by ck_load_key_pem */
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

EVP_PKEY *ck_key_held_unreadable(const char *path)
{
    EVP_PKEY *key = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    if (fd >= 0) {
        close(fd); /* readable: whoever needs it reads the file */
        return NULL;
    }
    if (errno != EACCES && errno != EPERM)
        return NULL;
    return ck__key_hold_take(path, NULL, &key) ? key : NULL;
}

void ck_key_hold_end(void)
{
    pthread_mutex_lock(&hold_lock);
    for (size_t i = 0; i < HELD_MAX; i++) {
        free(held[i].path);
        X509_free(held[i].cert);
        EVP_PKEY_free(held[i].key); /* OpenSSL wipes the private numbers */
        held[i] = (held_key){0};
    }
    holding = false;
    pthread_mutex_unlock(&hold_lock);
}
