#include "tftp_sources.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct tftp_source {
    uint8_t addr[16];   /* IPv4 in the first 4 bytes */
    sa_family_t family;
    uint32_t hash;
    unsigned n;
    struct tftp_source *next; /* hash chain, or the free list */
};

struct tftp_sources {
    struct tftp_source **buckets;
    size_t mask;
    struct tftp_source *pool, *free_list;
};

/* The address bytes of a (IPv4 or IPv6) socket address and their hash. */
static size_t key_of(const ck_netaddr *a, uint8_t out[16], uint32_t *hash)
{
    size_t n;
    memset(out, 0, 16);
    if (a->ss.ss_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)&a->ss)->sin_addr, 4);
        n = 4;
    } else {
        memcpy(out, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 16);
        n = 16;
    }
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ out[i]) * 16777619u;
    *hash = h;
    return n;
}

struct tftp_sources *tftp_sources_new(size_t max_transfers)
{
    struct tftp_sources *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    size_t buckets = 16;
    while (buckets < 2 * max_transfers)
        buckets *= 2;
    t->mask = buckets - 1;
    t->buckets = calloc(buckets, sizeof *t->buckets);
    t->pool = calloc(max_transfers ? max_transfers : 1, sizeof *t->pool);
    if (!t->buckets || !t->pool) {
        tftp_sources_free(t);
        return NULL;
    }
    for (size_t i = max_transfers; i-- > 0;) {
        t->pool[i].next = t->free_list;
        t->free_list = &t->pool[i];
    }
    return t;
}

void tftp_sources_free(struct tftp_sources *t)
{
    if (!t)
        return;
    free(t->buckets);
    free(t->pool);
    free(t);
}

static struct tftp_source *find(const struct tftp_sources *t, const ck_netaddr *addr, uint8_t key[16], uint32_t *h)
{
    key_of(addr, key, h);
    for (struct tftp_source *s = t->buckets[*h & t->mask]; s; s = s->next)
        if (s->hash == *h && s->family == addr->ss.ss_family && memcmp(s->addr, key, 16) == 0)
            return s;
    return NULL;
}

unsigned tftp_sources_count(const struct tftp_sources *t, const ck_netaddr *addr)
{
    uint8_t key[16];
    uint32_t h;
    const struct tftp_source *s = find(t, addr, key, &h);
    return s ? s->n : 0;
}

struct tftp_source *tftp_sources_add(struct tftp_sources *t, const ck_netaddr *addr)
{
    uint8_t key[16];
    uint32_t h;
    struct tftp_source *s = find(t, addr, key, &h);
    if (!s) {
        if (!(s = t->free_list))
            return NULL;
        t->free_list = s->next;
        memcpy(s->addr, key, 16);
        s->family = addr->ss.ss_family;
        s->hash = h;
        s->n = 0;
        s->next = t->buckets[h & t->mask];
        t->buckets[h & t->mask] = s;
    }
    s->n++;
    return s;
}

void tftp_sources_drop(struct tftp_sources *t, struct tftp_source *s)
{
    if (--s->n)
        return;
    struct tftp_source **pp = &t->buckets[s->hash & t->mask];
    while (*pp != s)
        pp = &(*pp)->next;
    *pp = s->next;
    s->next = t->free_list;
    t->free_list = s;
}
