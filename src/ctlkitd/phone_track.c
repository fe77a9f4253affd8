#include "phone_track.h"

#include <ctype.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "ctlkit/cluster.h"
#include "ctlkit/store.h"
#include "log.h"
#include "service.h"

#define RING_SIZE 4096 /* per TVS worker, between two drains */
#define INDEX_SLOTS 65536 /* > 3 * PHONE_TRACK_MAX_PHONES, a power of two */
#define IP_SLOTS_BITS 14
#define IP_SLOTS (1u << IP_SLOTS_BITS) /* IPv4 address -> MAC, direct-mapped: a collision forgets the older phone */
#define RETRY_MAX_S 30

struct tvs_event {
    char mac[13];
    char model[16];
    char ip[16];
    bool valid;
    int64_t at;
};

/* One TVS worker's events: the worker writes head, the loop tail. */
struct ring {
    _Alignas(64) atomic_size_t head;
    _Alignas(64) atomic_size_t tail;
    struct tvs_event ev[RING_SIZE];
};

struct ip_slot {
    uint32_t ip; /* network order; 0 unused */
    char mac[13];
};

struct phone_track {
    char address[4096], node_dir[4096], node[64];
    struct ring *rings;
    unsigned n_rings;
    atomic_ullong dropped_events; /* full rings */

    /* the loop's own: rows noted since the last flush */
    ck_phone_row *rows;
    size_t n_rows, cap_rows;
    int32_t *index; /* INDEX_SLOTS row numbers + 1, 0 empty */
    struct ip_slot *ips;
    unsigned long long dropped_rows, noted, flushed_batches;
    struct event *timer;

    /* shared with the flusher under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool thread_started, stop;
    ck_phone_row *queue;
    size_t n_queue, cap_queue;
    unsigned long long dropped_queued, stored;
    bool db_down;
};

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

/* 12 hex digits at p (at least 12 bytes readable) into upper case. */
static bool mac_at(const char *p, size_t avail, char out[13])
{
    if (avail < 12)
        return false;
    for (int i = 0; i < 12; i++) {
        if (hexval((unsigned char)p[i]) < 0)
            return false;
        out[i] = (char)toupper((unsigned char)p[i]);
    }
    out[12] = 0;
    return true;
}

/* CTLSEP<MAC>.tlv, ITLSEP<MAC>.tlv, SEP<MAC>... : the phone's own names. */
static bool mac_of_name(const char *name, size_t len, char out[13])
{
    static const char *const prefixes[] = {"CTLSEP", "ITLSEP", "SEP"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(prefixes[i]);
        if (len > n && strncasecmp(name, prefixes[i], n) == 0)
            return mac_at(name + n, len - n, out);
    }
    return false;
}

static uint32_t ipv4_of(const struct sockaddr *sa, char *text, size_t textsz)
{
    text[0] = 0;
    if (sa->sa_family != AF_INET)
        return 0;
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &in->sin_addr, text, (socklen_t)textsz);
    return in->sin_addr.s_addr;
}

static uint32_t hash_mac(const char *mac)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 12; i++)
        h = (h ^ (uint8_t)mac[i]) * 16777619u;
    return h;
}

/* Fibonacci hashing of the address in host order, keeping the product's
 * top bits: neighbouring addresses (a subnet's phones, a simulated fleet's
 * range) land far apart. (The middle bits of the network-order product
 * put 10.0.0.1 and 10.0.0.65 in one slot, so that of a subnet's phones
 * booting together only one in four was tracked.) */
static struct ip_slot *ip_slot(phone_track *t, uint32_t ip)
{
    uint32_t h = ntohl(ip) * 2654435761u;
    return &t->ips[h >> (32 - IP_SLOTS_BITS)];
}

/* The row of mac in this flush period, made on first use; NULL when the
 * period's bound is reached (counted). */
static ck_phone_row *row_of(phone_track *t, const char *mac)
{
    uint32_t i = hash_mac(mac) & (INDEX_SLOTS - 1);
    for (; t->index[i]; i = (i + 1) & (INDEX_SLOTS - 1))
        if (memcmp(t->rows[t->index[i] - 1].mac, mac, 12) == 0)
            return &t->rows[t->index[i] - 1];
    if (t->n_rows >= PHONE_TRACK_MAX_PHONES) {
        t->dropped_rows++;
        return NULL;
    }
    if (t->n_rows == t->cap_rows) {
        size_t ncap = t->cap_rows ? t->cap_rows * 2 : 256;
        ck_phone_row *p = realloc(t->rows, ncap * sizeof *p);
        if (!p) {
            t->dropped_rows++;
            return NULL;
        }
        t->rows = p;
        t->cap_rows = ncap;
    }
    ck_phone_row *r = &t->rows[t->n_rows++];
    memset(r, 0, sizeof *r);
    memcpy(r->mac, mac, 13);
    snprintf(r->node, sizeof r->node, "%s", t->node);
    t->index[i] = (int32_t)t->n_rows;
    return r;
}

static void seen(phone_track *t, ck_phone_row *r, const char *ip, int64_t now)
{
    if (ip[0])
        snprintf(r->ip, sizeof r->ip, "%s", ip);
    r->last_seen = now;
    t->noted++;
}

void phone_track_tftp_request(phone_track *t, const struct sockaddr *peer, const char *name, size_t len)
{
    char mac[13], ip[16];
    if (!mac_of_name(name, len, mac))
        return;
    uint32_t a = ipv4_of(peer, ip, sizeof ip);
    if (a) {
        struct ip_slot *s = ip_slot(t, a);
        s->ip = a;
        memcpy(s->mac, mac, 13);
    }
    ck_phone_row *r = row_of(t, mac);
    if (r)
        seen(t, r, ip, (int64_t)time(NULL));
}

void phone_track_tftp_done(phone_track *t, const struct sockaddr *peer, const char *name, const char *md5)
{
    bool ctl = strcmp(name, CK_CTL_NAME) == 0;
    if (!ctl && strcmp(name, CK_ITL_NAME) != 0)
        return;
    char ip[16];
    uint32_t a = ipv4_of(peer, ip, sizeof ip);
    struct ip_slot *s = a ? ip_slot(t, a) : NULL;
    if (!s || s->ip != a)
        return; /* no phone named itself from this address */
    ck_phone_row *r = row_of(t, s->mac);
    if (!r)
        return;
    int64_t now = (int64_t)time(NULL);
    seen(t, r, ip, now);
    memcpy(ctl ? r->ctl_md5 : r->itl_md5, md5, sizeof r->ctl_md5); /* tftp_file_md5: always 33 bytes */
    *(ctl ? &r->ctl_at : &r->itl_at) = now;
}

void phone_track_tvs(phone_track *t, unsigned worker, const struct sockaddr *peer, const char *model,
                     size_t model_len, const char *mac, bool valid)
{
    if (worker >= t->n_rings)
        return;
    struct ring *q = &t->rings[worker];
    size_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    if (h - atomic_load_explicit(&q->tail, memory_order_acquire) >= RING_SIZE) {
        atomic_fetch_add_explicit(&t->dropped_events, 1, memory_order_relaxed);
        return;
    }
    struct tvs_event *e = &q->ev[h & (RING_SIZE - 1)];
    if (!mac_at(mac, 12, e->mac))
        return;
    size_t n = model_len < sizeof e->model - 1 ? model_len : sizeof e->model - 1;
    memcpy(e->model, model, n);
    e->model[n] = 0;
    ipv4_of(peer, e->ip, sizeof e->ip);
    e->valid = valid;
    e->at = (int64_t)time(NULL);
    atomic_store_explicit(&q->head, h + 1, memory_order_release);
}

static void drain(phone_track *t)
{
    for (unsigned w = 0; w < t->n_rings; w++) {
        struct ring *q = &t->rings[w];
        size_t tl = atomic_load_explicit(&q->tail, memory_order_relaxed);
        size_t h = atomic_load_explicit(&q->head, memory_order_acquire);
        for (; tl != h; tl++) {
            const struct tvs_event *e = &q->ev[tl & (RING_SIZE - 1)];
            ck_phone_row *r = row_of(t, e->mac);
            if (!r)
                continue;
            seen(t, r, e->ip, e->at);
            snprintf(r->model, sizeof r->model, "%s", e->model);
            if (e->valid)
                r->tvs_valid++;
            else
                r->tvs_invalid++;
            snprintf(r->tvs_last, sizeof r->tvs_last, "%s", e->valid ? "valid" : "invalid");
            r->tvs_at = e->at;
        }
        atomic_store_explicit(&q->tail, tl, memory_order_release);
    }
}

/* The loop: this period's rows go to the flusher, bounded. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    phone_track *t = arg;
    drain(t);
    if (!t->n_rows)
        return;
    pthread_mutex_lock(&t->mu);
    size_t room = PHONE_TRACK_MAX_QUEUED - t->n_queue, take = t->n_rows < room ? t->n_rows : room;
    if (t->n_queue + take > t->cap_queue) {
        size_t ncap = t->n_queue + take;
        ck_phone_row *p = realloc(t->queue, ncap * sizeof *p);
        if (p) {
            t->queue = p;
            t->cap_queue = ncap;
        } else
            take = 0;
    }
    if (take)
        memcpy(t->queue + t->n_queue, t->rows, take * sizeof *t->rows);
    t->n_queue += take;
    t->dropped_queued += t->n_rows - take;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    t->n_rows = 0;
    memset(t->index, 0, INDEX_SLOTS * sizeof *t->index);
}

/* The flusher thread: one transaction per batch; on failure the batch
 * waits (bounded by the queue) and the connection is opened again. */
static void *flusher(void *arg)
{
    phone_track *t = arg;
    ck_cluster *c = NULL;
    unsigned backoff = 0;
    ck_phone_row *batch = NULL;
    size_t n = 0;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (!t->stop && !t->n_queue)
            pthread_cond_wait(&t->cv, &t->mu);
        if (!t->n_queue)
            break; /* stopping with nothing left */
        batch = t->queue;
        n = t->n_queue;
        t->queue = NULL;
        t->n_queue = t->cap_queue = 0;
        bool stopping = t->stop;
        pthread_mutex_unlock(&t->mu);

        ck_err err = {0};
        int rc = 0;
        if (!c) {
            ck_cluster_where w = {.address = t->address, .dir = t->node_dir[0] ? t->node_dir : NULL, .node = t->node};
            rc = ck_cluster_open_at(&w, "ctlkitd", &c, &err);
        }
        if (rc == 0)
            rc = ck_store_merge_phones(ck_cluster_store(c), batch, n, &err);

        pthread_mutex_lock(&t->mu);
        if (rc == 0) {
            t->stored += n;
            if (t->db_down)
                dlog(DLOG_NOTICE, "phone tracking: the cluster database takes phone sightings again");
            t->db_down = false;
            backoff = 0;
            free(batch);
        } else {
            if (!t->db_down)
                dlog(DLOG_WARNING, "phone tracking: cannot store phone sightings, keeping up to %d and retrying: %s",
                     PHONE_TRACK_MAX_QUEUED, err.msg);
            t->db_down = true;
            ck_cluster_close(c);
            c = NULL;
            /* Put the batch back in front of what came meanwhile, bounded. */
            size_t keep = n + t->n_queue > PHONE_TRACK_MAX_QUEUED ? PHONE_TRACK_MAX_QUEUED - t->n_queue : n;
            if (t->n_queue > PHONE_TRACK_MAX_QUEUED)
                keep = 0;
            ck_phone_row *merged = malloc((keep + t->n_queue + 1) * sizeof *merged);
            if (merged) {
                memcpy(merged, batch + (n - keep), keep * sizeof *merged);
                if (t->n_queue)
                    memcpy(merged + keep, t->queue, t->n_queue * sizeof *merged);
                free(t->queue);
                t->queue = merged;
                t->dropped_queued += n - keep;
                t->n_queue += keep;
                t->cap_queue = t->n_queue + 1;
            } else
                t->dropped_queued += n;
            free(batch);
            if (stopping)
                break;
            backoff = backoff ? (backoff * 2 > RETRY_MAX_S ? RETRY_MAX_S : backoff * 2) : 1;
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += backoff;
            while (!t->stop && pthread_cond_timedwait(&t->cv, &t->mu, &until) == 0)
                ;
        }
        batch = NULL;
    }
    pthread_mutex_unlock(&t->mu);
    ck_cluster_close(c);
    return NULL;
}

phone_track *phone_track_new(const char *address, const char *node_dir, const char *node, ck_err *err)
{
    phone_track *t = calloc(1, sizeof *t);
    if (!t || !(t->index = calloc(INDEX_SLOTS, sizeof *t->index)) || !(t->ips = calloc(IP_SLOTS, sizeof *t->ips))) {
        phone_track_free(t);
        ck_fail(err, CK_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(t->address, sizeof t->address, "%s", address);
    snprintf(t->node_dir, sizeof t->node_dir, "%s", node_dir ? node_dir : "");
    snprintf(t->node, sizeof t->node, "%s", node);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    return t;
}

int phone_track_set_workers(phone_track *t, unsigned n_workers, ck_err *err)
{
    free(t->rings);
    t->n_rings = 0;
    if (n_workers && !(t->rings = calloc(n_workers, sizeof *t->rings)))
        return ck_fail(err, CK_ENOMEM, "out of memory");
    t->n_rings = n_workers;
    return 0;
}

int phone_track_start(phone_track *t, struct event_base *base, ck_err *err)
{
    t->timer = event_new(base, -1, EV_PERSIST, on_timer, t);
    struct timeval tv = {PHONE_TRACK_FLUSH_MS / 1000, (PHONE_TRACK_FLUSH_MS % 1000) * 1000};
    if (!t->timer || event_add(t->timer, &tv) != 0)
        return ck_fail(err, CK_EIO, "cannot start phone tracking's timer");
    if (pthread_create(&t->thread, NULL, flusher, t) != 0)
        return ck_fail(err, CK_EIO, "cannot start phone tracking's flusher thread");
    t->thread_started = true;
    return 0;
}

void phone_track_free(phone_track *t)
{
    if (!t)
        return;
    if (t->thread_started) {
        on_timer(-1, 0, t); /* what the last period noted */
        pthread_mutex_lock(&t->mu);
        t->stop = true;
        pthread_cond_signal(&t->cv);
        pthread_mutex_unlock(&t->mu);
        pthread_join(t->thread, NULL);
    }
    if (t->timer)
        event_free(t->timer);
    if (t->index) {
        pthread_mutex_destroy(&t->mu);
        pthread_cond_destroy(&t->cv);
    }
    free(t->queue);
    free(t->rows);
    free(t->index);
    free(t->ips);
    free(t->rings);
    free(t);
}

void phone_track_stats(phone_track *t, char *buf, size_t len)
{
    pthread_mutex_lock(&t->mu);
    snprintf(buf, len, "%llu phone sightings noted, %llu stored, %zu waiting, %llu dropped%s", t->noted, t->stored,
             t->n_queue,
             t->dropped_rows + t->dropped_queued + (unsigned long long)atomic_load(&t->dropped_events),
             t->db_down ? " (database unreachable)" : "");
    pthread_mutex_unlock(&t->mu);
}

void phone_track_metrics(phone_track *t, struct evbuffer *out)
{
    pthread_mutex_lock(&t->mu);
    unsigned long long stored = t->stored, dropped = t->dropped_rows + t->dropped_queued;
    size_t waiting = t->n_queue;
    pthread_mutex_unlock(&t->mu);
    dropped += atomic_load_explicit(&t->dropped_events, memory_order_relaxed);
    evbuffer_add_printf(out,
                        "# HELP ctlkit_phone_sightings_stored_total Phone sightings merged into the cluster's phone table.\n"
                        "# TYPE ctlkit_phone_sightings_stored_total counter\n"
                        "ctlkit_phone_sightings_stored_total %llu\n"
                        "# HELP ctlkit_phone_sightings_dropped_total Phone sightings lost to a bound (full ring, table or queue).\n"
                        "# TYPE ctlkit_phone_sightings_dropped_total counter\n"
                        "ctlkit_phone_sightings_dropped_total %llu\n"
                        "# HELP ctlkit_phone_sightings_waiting Phone sightings waiting for the database.\n"
                        "# TYPE ctlkit_phone_sightings_waiting gauge\n"
                        "ctlkit_phone_sightings_waiting %zu\n",
                        stored, dropped, waiting);
}

/* The row of ctlkitd's service table (service.h): a cluster node tracks
 * phones unless --track-phones off. */

static int track_row_new(daemon_ctx *d, void **out, ck_err *err)
{
    if (!d->cluster || d->track_phones_off)
        return 0;
    *out = d->track = phone_track_new(d->cluster_dir, d->node_dir, d->node, err);
    return *out ? 0 : -1;
}

static int track_row_start(void *svc, daemon_ctx *d, ck_err *err) { return phone_track_start(svc, d->base, err); }

static void track_row_reload(void *svc, daemon_ctx *d)
{
    (void)svc;
    (void)d;
}

static void track_row_stats(void *svc, char *buf, size_t len) { phone_track_stats(svc, buf, len); }

static void track_row_free(void *svc) { phone_track_free(svc); }

static void track_row_metrics(void *svc, struct evbuffer *out) { phone_track_metrics(svc, out); }

const daemon_service phone_track_service_row = {"phone tracking", track_row_new,  track_row_start, track_row_reload,
                                                track_row_stats,  track_row_free, track_row_metrics};
