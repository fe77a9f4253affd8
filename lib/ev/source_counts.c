/* Connections open per source address (source_counts.h): a hash table of
 * addresses with open connections, each bucket a short list, under one
 * mutex. The critical section is a hash and a few comparisons; it is taken
 * only by services that set a cap. */
#include "source_counts.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/netaddr.h"

#define N_BUCKETS 1024u /* a power of two */

typedef struct source {
    struct sockaddr_storage addr;
    int open;
    struct source *next;
} source;

struct source_counts {
    pthread_mutex_t mu;
    int max_per_source;
    source *buckets[N_BUCKETS];
};

source_counts *source_counts_new(int max_per_source)
{
    if (max_per_source < 1)
        return NULL;
    source_counts *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (pthread_mutex_init(&t->mu, NULL) != 0) {
        free(t);
        return NULL;
    }
    t->max_per_source = max_per_source;
    return t;
}

void source_counts_free(source_counts *t)
{
    if (!t)
        return;
    for (unsigned i = 0; i < N_BUCKETS; i++) {
        for (source *s = t->buckets[i], *next; s; s = next) {
            next = s->next;
            free(s);
        }
    }
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* FNV-1a over the address bytes; false for a family that is not counted. */
static bool bucket_of(const struct sockaddr *sa, unsigned *out)
{
    const uint8_t *p;
    size_t n;
    if (sa->sa_family == AF_INET) {
        p = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
        n = 4;
    } else if (sa->sa_family == AF_INET6) {
        p = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
        n = 16;
    } else {
        return false;
    }
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    *out = h & (N_BUCKETS - 1);
    return true;
}

/* The entry for sa's address in its bucket, and the link that points to it. */
static source **find(source_counts *t, unsigned b, const struct sockaddr *sa)
{
    source **link = &t->buckets[b];
    while (*link && !ck_netaddr_same_host((const struct sockaddr *)&(*link)->addr, sa))
        link = &(*link)->next;
    return link;
}

bool source_counts_take(source_counts *t, const struct sockaddr *sa)
{
    unsigned b;
    if (!bucket_of(sa, &b))
        return true;
    bool taken = false;
    pthread_mutex_lock(&t->mu);
    source **link = find(t, b, sa);
    if (*link) {
        if ((*link)->open < t->max_per_source) {
            (*link)->open++;
            taken = true;
        }
    } else {
        source *s = calloc(1, sizeof *s);
        if (s) {
            memcpy(&s->addr, sa, sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
            s->open = 1;
            *link = s;
            taken = true;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return taken;
}

void source_counts_release(source_counts *t, const struct sockaddr *sa)
{
    unsigned b;
    if (!bucket_of(sa, &b))
        return;
    pthread_mutex_lock(&t->mu);
    source **link = find(t, b, sa);
    source *s = *link;
    if (s && --s->open <= 0) {
        *link = s->next;
        free(s);
    }
    pthread_mutex_unlock(&t->mu);
}

int source_counts_open(source_counts *t, const struct sockaddr *sa)
{
    unsigned b;
    if (!bucket_of(sa, &b))
        return 0;
    pthread_mutex_lock(&t->mu);
    source *s = *find(t, b, sa);
    int n = s ? s->open : 0;
    pthread_mutex_unlock(&t->mu);
    return n;
}
