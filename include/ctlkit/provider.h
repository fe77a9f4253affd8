/* CTL Provider wire codec (docs/ctl-provider.md): the messages the CTL
 * Client and the publisher's CTL Provider (TLS, port 2444) exchange. No
 * I/O: bytes in, messages out, and back.
 *
 * A frame is a 12-byte header and a body of elements:
 *   "CTLP" | version u8 (1) | type u8 | reserved u16 (0) | body length u32
 *   element = tag u8 | length u32 | value
 * All integers big-endian. The body length is capped (CK_PV_MAX_BODY), every
 * element must fit its container exactly, unknown tags, repeated single
 * elements, missing required elements and trailing bytes are errors that
 * name the element and the byte offset.
 *
 * A parsed message copies strings into its own fixed buffers; byte values
 * (CTL, certificates) are spans into the frame, which must outlive the
 * message. ck_pv_msg_clear wipes the password and frees the arrays. */
#ifndef CTLKIT_PROVIDER_H
#define CTLKIT_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/error.h"
#include "ctlkit/trustlist.h"

#define CK_PV_PORT 2444
#define CK_PV_VERSION 1
#define CK_PV_HDR_LEN 12
/* A CTL is at most 64 KiB; a cluster view holds up to CK_PV_MAX_NODES
 * nodes with two certificates each. */
#define CK_PV_MAX_BODY (512u * 1024u)
#define CK_PV_MAX_NODES 64
#define CK_PV_MAX_CERT (16u * 1024u)
#define CK_PV_USER_MAX 64
#define CK_PV_PASSWORD_MAX 256
#define CK_PV_MESSAGE_MAX 1023
#define CK_PV_LOCATION_MAX 255

enum ck_pv_type {
    CK_PV_LOGIN = 1,        /* USER, PASSWORD */
    CK_PV_GET_CLUSTER = 2,  /* (empty) */
    CK_PV_SUBMIT_CTL = 3,   /* ACTION, CTL */
    CK_PV_RESPONSE = 0x80,  /* a response's type is CK_PV_RESPONSE | the request's */
    CK_PV_ERROR = 0xFF,     /* response to a frame that could not be read; the server closes */
};

enum ck_pv_action {
    CK_PV_ACTION_MIXED = 1,     /* "Set Cisco Unified CallManager Cluster to Mixed Mode" */
    CK_PV_ACTION_NONSECURE = 2, /* "... to Non-Secure Mode" */
    CK_PV_ACTION_UPDATE = 3,    /* "Update CTL File" */
};

enum ck_pv_status {
    CK_PV_OK = 0,
    CK_PV_DENIED = 1,   /* not logged in, wrong user or password */
    CK_PV_REFUSED = 2,  /* the request was understood and refused (a CTL that fails a check) */
    CK_PV_FAILED = 3,   /* the server could not do it (publishing failed; nothing changed) */
    CK_PV_BADREQ = 4,   /* malformed request */
};

/* Element tags. */
enum ck_pv_tag {
    CK_PV_T_USER = 1,
    CK_PV_T_PASSWORD = 2,
    CK_PV_T_ACTION = 3,
    CK_PV_T_CTL = 4,
    CK_PV_T_STATUS = 16,
    CK_PV_T_MESSAGE = 17,
    CK_PV_T_MODE = 18,
    CK_PV_T_NODE = 19,     /* container: NAME, IP, PUBLISHER, CCM_CERT, [CAPF_CERT] */
    CK_PV_T_RESULT = 20,   /* container: NAME, LOCATION, PASSED */
    CK_PV_T_NAME = 32,
    CK_PV_T_IP = 33,
    CK_PV_T_PUBLISHER = 34,
    CK_PV_T_CCM_CERT = 35,
    CK_PV_T_CAPF_CERT = 36,
    CK_PV_T_LOCATION = 37,
    CK_PV_T_PASSED = 38,
};

typedef struct ck_pv_node {
    char name[64];
    char ip[16];
    bool publisher;
    ck_span ccm_cert;   /* DER CallManager certificate (CCM+TFTP record) */
    ck_span capf_cert;  /* DER CAPF certificate (publisher), p NULL when absent */
} ck_pv_node;

typedef struct ck_pv_result {
    char name[64];
    char location[CK_PV_LOCATION_MAX + 1];
    bool passed;
} ck_pv_result;

typedef struct ck_pv_msg {
    uint8_t type;
    /* LOGIN */
    char user[CK_PV_USER_MAX + 1];
    char password[CK_PV_PASSWORD_MAX + 1]; /* secret: wiped by ck_pv_msg_clear */
    /* SUBMIT_CTL */
    uint8_t action;
    /* SUBMIT_CTL request, GET_CLUSTER response (p NULL: no CTL on the server) */
    ck_span ctl;
    /* responses */
    uint8_t status;
    char message[CK_PV_MESSAGE_MAX + 1];
    bool has_mode;
    uint8_t mode;       /* ClusterSecurityMode: 0 non-secure, 1 mixed */
    ck_pv_node *nodes;  /* GET_CLUSTER response */
    size_t n_nodes;
    ck_pv_result *results; /* SUBMIT_CTL response */
    size_t n_results;
} ck_pv_msg;

const char *ck_pv_type_name(uint8_t type);   /* "LOGIN", "GET_CLUSTER response", ... */
const char *ck_pv_action_name(uint8_t action); /* "mixed", "non-secure", "update"; NULL if unknown */
const char *ck_pv_status_name(uint8_t status);

/* Checks a frame header (CK_PV_HDR_LEN bytes): magic, version, reserved
 * bits, body length cap. Lets a reader know how much body to wait for. */
int ck_pv_header(const uint8_t *hdr, size_t len, uint8_t *type, uint32_t *body_len, ck_err *err);

/* Parses one whole frame (header and body, nothing after) into m. */
int ck_pv_parse(const uint8_t *frame, size_t len, ck_pv_msg *m, ck_err *err);

/* Builds the frame for m (only the elements its type carries); *out is
 * malloc'd. A LOGIN frame holds the password: wipe it (OPENSSL_cleanse)
 * before freeing. */
int ck_pv_build(const ck_pv_msg *m, uint8_t **out, size_t *len, ck_err *err);

/* Adds a node / result to m (for builders). */
int ck_pv_add_node(ck_pv_msg *m, const ck_pv_node *n, ck_err *err);
int ck_pv_add_result(ck_pv_msg *m, const ck_pv_result *r, ck_err *err);

void ck_pv_msg_clear(ck_pv_msg *m);

#endif
