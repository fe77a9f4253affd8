/* Phone tracking: what each phone fetched from this node and asked its
 * TVS, for `show phones trust` (include/ctlkit/drift.h).
 *
 * The hot paths only note: TFTP (the loop's thread) writes into a table
 * the loop owns; each TVS worker pushes into its own single-producer ring
 * (no lock, a full ring drops the event and counts it). Every
 * PHONE_TRACK_FLUSH_MS the loop drains the rings and hands the table's rows
 * to a flusher thread, which merges them into the store's phone table in
 * one transaction on its own connection. A database outage keeps at most
 * PHONE_TRACK_MAX_QUEUED rows waiting (the rest dropped and counted) and
 * retries with back-off; nothing the phones see depends on it.
 *
 * The MAC comes from the phone's own requests (CTLSEP<MAC>.tlv,
 * ITLSEP<MAC>.tlv, SEP<MAC>...), which ties its IP address to it, so that
 * a later CTLFile.tlv or ITLFile.tlv from that address counts for that
 * phone; TVS requests name the device (CP-<model>-SEP<MAC>) and so give
 * the model too. */
#ifndef CTLKITD_PHONE_TRACK_H
#define CTLKITD_PHONE_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ctlkit/error.h"

#define PHONE_TRACK_FLUSH_MS 2000
#define PHONE_TRACK_MAX_PHONES 20000  /* rows noted between two flushes */
#define PHONE_TRACK_MAX_QUEUED 100000 /* rows waiting for the database */

struct event_base;
struct evbuffer;
typedef struct phone_track phone_track;

/* address/node_dir/node as ctlkitd's --cluster/--dir/--node. Made before
 * the TFTP and TVS services and freed after them (they hold it). */
phone_track *phone_track_new(const char *address, const char *node_dir, const char *node, ck_err *err);
/* One ring per TVS worker that will call phone_track_tvs; before they start. */
int phone_track_set_workers(phone_track *t, unsigned n_workers, ck_err *err);
int phone_track_start(phone_track *t, struct event_base *base, ck_err *err);
void phone_track_free(phone_track *t);

/* The loop's thread: a read request (found or not), and a completed
 * download of a file (md5: its hex MD5, a 33-byte buffer as
 * tftp_file_md5 returns). */
void phone_track_tftp_request(phone_track *t, const struct sockaddr *peer, const char *name, size_t len);
void phone_track_tftp_done(phone_track *t, const struct sockaddr *peer, const char *name, const char *md5);
/* TVS worker `worker`: one VERIFY answered for device (CP-<model>-SEP<MAC>). */
void phone_track_tvs(phone_track *t, unsigned worker, const struct sockaddr *peer, const char *model,
                     size_t model_len, const char *mac, bool valid);

void phone_track_stats(phone_track *t, char *buf, size_t len);
void phone_track_metrics(phone_track *t, struct evbuffer *out);

#endif
