/* ctlkit ctl-client: the Cisco CTL Client's screens in a terminal (seed,
 * scenario 3 steps 11-19): server and admin credentials, the cluster
 * security mode choice, "insert the first Security Token", its details,
 * the CTL entries with Add Tokens, Add TFTP, Add Firewall, Delete
 * Selected and Finish, the token password, then each server's file
 * location and status. Flags answer every screen for scripts. The CTL is
 * built and signed here, with the first token; the CTL Provider checks
 * and publishes it. */
#include <arpa/inet.h>
#include <ctype.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ctlclient.h"
#include "ctlkit/bytes.h"
#include "ctlkit/fileio.h"
#include "ctlkit/x509.h"

static const char usage[] =
    "usage: ctlkit ctl-client --host ADDR[:PORT] --user NAME [--module PATH]\n"
    "                         [--password-file F] [--pin-file F] [--server-cert PEM]\n"
    "                         [--action mixed|non-secure|update] [--token LABEL ...] [--yes]\n"
    "                         [--add-tftp IP=PEM ...] [--add-firewall IP=PEM ...] [--delete ROW ...]\n"
    "                         [--out FILE | --submit FILE]\n"
    "\n"
    "Connects to the publisher's CTL Provider (TLS, port 2444 unless given),\n"
    "reads the cluster's certificates, builds a CTL with the USB eTokens\n"
    "(Security Tokens) found through the PKCS#11 module (--module, else\n"
    "$CTLKIT_P11_MODULE), signs it with the first token and has the provider\n"
    "publish it to every node. Interactive by default; flags answer the\n"
    "screens: --action, --token (first, then second; the first signs; a\n"
    "token the CTL Client refuses is replaced by the next --token, as the\n"
    "admin inserts another), --password-file (admin password), --pin-file\n"
    "(token password), --yes. On the CTL Entries screen, after the tokens:\n"
    "--add-tftp IP=PEM adds an alternate TFTP server (a TFTP record),\n"
    "--add-firewall IP=PEM a firewall proxying the phones' TLS (a CCM+TFTP\n"
    "record), --delete ROW deletes the entry on that row of the screen shown\n"
    "just before (each flag in the order given).\n"
    "--server-cert pins the publisher's CallManager certificate; without it\n"
    "the certificate's fingerprint is shown.\n"
    "--out FILE writes the signed CTL to FILE instead of submitting it (to\n"
    "review it with `ctlkit tlv show FILE`); --submit FILE sends such a file\n"
    "(no token needed then; the provider checks it as any other).\n"
    "Exit: 0 every server Passed, 1 refused or a server Failed, 2 error.\n";

/* The seed quotes this dialog's end only ("... Security Token. Click Ok when
 * done."); the beginning is the refusal as CUCM's CTL Client words it. */
#define NOT_IN_CTL                                                                                                  \
    "The Security Token you have inserted does not exist in the CTL File. Please remove it and insert another "    \
    "Security Token. Click Ok when done."
#define NO_CTL_WARNING                                                                                              \
    "No CTL File exists on the server but the Call Manager Cluster Security Mode is in Secure Mode. For the "      \
    "system to function, you must create the CTL File and set Call Manager Cluster the Secure Mode."

/* --token may name more tokens than a CTL holds: a refused one is replaced
 * by the next. */
#define CC_MAX_LABELS 8
#define CC_MAX_DELETES 16

typedef struct args {
    const char *host, *user, *module, *pwfile, *pinfile, *server_cert, *out, *submit;
    const char *labels[CC_MAX_LABELS];
    size_t n_labels;
    const char *tftp[CC_MAX_EXTRA], *firewall[CC_MAX_EXTRA];
    size_t n_tftp, n_firewall;
    long long deletes[CC_MAX_DELETES];
    size_t n_deletes;
    int action;  /* 0: ask */
    bool yes;
} args;

typedef struct state {
    args a;
    ck_pv_msg view;
    uint8_t *view_hold;
    char password[CK_PV_PASSWORD_MAX + 2];
    ck_p11 *mod;
    char accepted_fp[96]; /* the unpinned server certificate the admin accepted */
    cc_sast sast[CC_MAX_TOKENS];
    size_t n_sast;
    size_t next_label;
    cc_extra extra[CC_MAX_EXTRA];
    size_t n_extra;
} state;

static cc_entries entries(const state *s)
{
    return (cc_entries){.tokens = s->sast, .n_tokens = s->n_sast, .extras = s->extra, .n_extras = s->n_extra};
}

static bool interactive(const state *s) { return !s->a.yes && isatty(STDIN_FILENO); }

/* Without --server-cert nothing proves the peer is the publisher: the
 * admin decides from the fingerprint BEFORE the password is sent, and a
 * later connection must present the same certificate. */
static int accept_unpinned(state *s, const cc_conn *c)
{
    if (s->a.server_cert)
        return 0;
    if (s->accepted_fp[0]) {
        if (strcmp(s->accepted_fp, c->fingerprint) == 0)
            return 0;
        cli_err("ctl-client: the CTL Provider's certificate changed between connections (now %s, before %s): "
                "refusing to send the password",
                c->fingerprint, s->accepted_fp);
        return -1;
    }
    printf("The CTL Provider at %s presents\n  %s\n  SHA-256 fingerprint: %s\n", s->a.host, c->subject,
           c->fingerprint);
    if (interactive(s)) {
        printf("Is this the publisher's CallManager certificate? (y/n): ");
        fflush(stdout);
        char line[16];
        if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
            cli_err("ctl-client: certificate not accepted; nothing was sent");
            return -1;
        }
    } else if (!s->a.yes) {
        cli_err("ctl-client: no --server-cert and no terminal to confirm the certificate above: give --server-cert "
                "PEM (or --yes to accept it unchecked); the password was not sent");
        return -1;
    }
    snprintf(s->accepted_fp, sizeof s->accepted_fp, "%s", c->fingerprint);
    return 0;
}

static int connect_login(state *s, cc_conn *c)
{
    ck_err err = {0};
    if (cc_connect(s->a.host, s->a.server_cert, 30, c, &err) < 0) {
        cli_err_ck(&err, "ctl-client");
        return -1;
    }
    if (accept_unpinned(s, c) < 0) {
        cc_close(c);
        return -1;
    }
    if (cc_login(c, s->a.user, s->password, &err) < 0) {
        cli_err_ck(&err, "ctl-client");
        cc_close(c);
        return -1;
    }
    return 0;
}

static int read_cluster(state *s)
{
    cc_conn c;
    if (connect_login(s, &c) < 0)
        return -1;
    printf("Connected to the CTL Provider at %s\n  server certificate: %s\n  SHA-256 fingerprint: %s\n", s->a.host,
           c.subject, c.fingerprint);
    ck_pv_msg req = {.type = CK_PV_GET_CLUSTER};
    ck_err err = {0};
    int rc = cc_call(&c, &req, &s->view, &s->view_hold, &err);
    cc_close(&c);
    if (rc < 0) {
        cli_err_ck(&err, "ctl-client");
        return -1;
    }
    if (s->view.status != CK_PV_OK) {
        cli_err("ctl-client: the CTL Provider refused to show the cluster: %s", s->view.message);
        return -1;
    }
    return 0;
}

static int choose_action(state *s)
{
    int deflt = s->view.mode ? CK_PV_ACTION_UPDATE : CK_PV_ACTION_MIXED;
    printf("\nCluster Security Mode (now: %s)\n", s->view.mode ? "Mixed" : "Non-Secure");
    printf("  1) Set Cisco Unified CallManager Cluster to Mixed Mode\n"
           "  2) Set Cisco Unified CallManager Cluster to Non-Secure Mode\n"
           "  3) Update CTL File\n");
    if (s->a.action) {
        printf("Choice: %d\n", s->a.action);
        return s->a.action;
    }
    if (!interactive(s)) {
        printf("Choice: %d\n", deflt);
        return deflt;
    }
    char line[16];
    for (;;) {
        char prompt[32];
        snprintf(prompt, sizeof prompt, "Choice [%d]: ", deflt);
        if (cc_ask(prompt, line, sizeof line) < 0)
            return -1;
        if (!line[0])
            return deflt;
        if (line[0] >= '1' && line[0] <= '3' && !line[1])
            return line[0] - '0';
    }
}

static bool already(const state *s, X509 *cert)
{
    for (size_t i = 0; i < s->n_sast; i++)
        if (X509_cmp(s->sast[i].cert, cert) == 0)
            return true;
    return false;
}

/* "Insert the Security Token": the next --token, or asks which of the
 * tokens present (a USB eToken is found when it is plugged in). */
static int pick_token(state *s, const char *which, ck_token **out)
{
    ck_err err = {0};
    *out = NULL;
    if (s->next_label < s->a.n_labels) {
        const char *label = s->a.labels[s->next_label++];
        printf("\nInsert the %s Security Token: %s\n", which, label);
        if (ck_token_open(s->mod, label, -1, out, &err) < 0) {
            cli_err_ck(&err, "ctl-client");
            return -1;
        }
        return 0;
    }
    if (!interactive(s)) {
        cli_err("ctl-client: no %s Security Token given; use --token LABEL (once per token; the first signs)", which);
        return -1;
    }
    for (;;) {
        char line[64], prompt[96];
        snprintf(prompt, sizeof prompt, "\nInsert the %s Security Token and press Enter (q to cancel): ", which);
        if (cc_ask(prompt, line, sizeof line) < 0 || strcmp(line, "q") == 0)
            return -1;
        ck_token_info *v = NULL;
        size_t n = 0;
        if (ck_p11_list(s->mod, &v, &n, &err) < 0) {
            cli_err_ck(&err, "ctl-client");
            return -1;
        }
        size_t idx[32], k = 0;
        for (size_t i = 0; i < n && k < 32; i++) {
            ck_token *t = NULL;
            X509 *c = NULL;
            if (ck_token_open(s->mod, NULL, (long)v[i].slot, &t, NULL) == 0 && ck_token_cert(t, &c, NULL) == 0 &&
                !already(s, c))
                idx[k++] = i;
            X509_free(c);
            ck_token_close(t);
        }
        size_t pick = 0;
        if (k == 0) {
            printf("No new Security Token found; insert one.\n");
            free(v);
            continue;
        }
        if (k > 1) {
            for (size_t j = 0; j < k; j++)
                printf("  %zu) %s\n", j + 1, v[idx[j]].label);
            if (cc_ask("Which token? ", line, sizeof line) < 0) {
                free(v);
                return -1;
            }
            long long c;
            if (!ck_parse_ll(line, 1, (long long)k, &c)) {
                free(v);
                continue;
            }
            pick = (size_t)c - 1;
        }
        int rc = ck_token_open(s->mod, NULL, (long)v[idx[pick]].slot, out, &err);
        free(v);
        if (rc < 0) {
            cli_err_ck(&err, "ctl-client");
            continue;
        }
        return 0;
    }
}

/* One token: show it, check it may be used, Add. */
static int add_token(state *s, int action, bool first)
{
    for (;;) {
        ck_token *t = NULL;
        if (pick_token(s, first ? "first" : "next", &t) < 0)
            return -1;
        ck_err err = {0};
        X509 *cert = NULL;
        if (ck_token_cert(t, &cert, &err) < 0) {
            cli_err_ck(&err, "ctl-client");
            ck_token_close(t);
            if (!interactive(s))
                return -1;
            continue;
        }
        cc_show_token_cert(stdout, ck_token_get_info(t), cert);
        bool refuse = false;
        if (already(s, cert)) {
            printf("This Security Token is already in the list.\n");
            refuse = true;
        } else if (first && action == CK_PV_ACTION_UPDATE && s->view.ctl.p && !cc_in_ctl(&s->view, cert)) {
            /* The first token signs: phones holding the current CTL can only
             * verify the new one if the signer is in it. */
            printf("%s\n", NOT_IN_CTL);
            refuse = true;
        }
        if (refuse) {
            /* As on Cisco's dialog: the admin takes the token out, inserts
             * another and clicks Ok; a script gives the next --token. */
            const char *label = ck_token_get_info(t)->label;
            char was[64];
            snprintf(was, sizeof was, "%s", label);
            X509_free(cert);
            ck_token_close(t);
            if (interactive(s)) {
                char line[16];
                if (cc_ask("[Ok] ", line, sizeof line) < 0)
                    return -1;
                continue;
            }
            printf("Ok\n");
            if (s->next_label < s->a.n_labels)
                continue;
            cli_err("ctl-client: Security Token %s cannot be used and no other --token was given to insert instead",
                    was);
            return -1;
        }
        if (interactive(s)) {
            char line[16];
            if (cc_ask("Add this Security Token? [Y/n] ", line, sizeof line) < 0 || line[0] == 'n' || line[0] == 'N') {
                X509_free(cert);
                ck_token_close(t);
                continue;
            }
        } else {
            printf("Add\n");
        }
        /* The first token inserted goes first: it signs. */
        if (s->n_sast == CC_MAX_TOKENS) {
            X509_free(cert);
            ck_token_close(t);
            printf("A CTL holds at most %d Security Tokens.\n", CC_MAX_TOKENS);
            return 0;
        }
        cc_sast *e = &s->sast[s->n_sast++];
        e->cert = cert;
        e->token = t;
        snprintf(e->label, sizeof e->label, "%s", ck_token_get_info(t)->label);
        return 0;
    }
}

/* For "update": the CTL's other Security Tokens stay in it unless the
 * admin inserts them again, and so do the TFTP servers and firewalls
 * added before (Delete Selected takes them out). */
static void keep_ctl_tokens(state *s)
{
    s->n_extra = cc_ctl_extras(&s->view, s->extra, CC_MAX_EXTRA);
    X509 *kept[CC_MAX_TOKENS];
    size_t n = cc_ctl_tokens(&s->view, kept, CC_MAX_TOKENS);
    for (size_t i = 0; i < n; i++) {
        if (already(s, kept[i]) || s->n_sast == CC_MAX_TOKENS) {
            X509_free(kept[i]);
            continue;
        }
        cc_sast *e = &s->sast[s->n_sast++];
        e->cert = kept[i];
        e->token = NULL;
        snprintf(e->label, sizeof e->label, "(from the current CTL)");
    }
}

static bool is_node_ip(const state *s, const char *ip)
{
    for (size_t i = 0; i < s->view.n_nodes; i++)
        if (strcmp(s->view.nodes[i].ip, ip) == 0)
            return true;
    return false;
}

/* Add TFTP / Add Firewall: an IPv4 address and the server's certificate. */
static int add_extra(state *s, enum cc_extra_kind kind, const char *ip, const char *pem, ck_err *err)
{
    const char *what = kind == CC_EXTRA_TFTP ? "TFTP server" : "firewall";
    uint8_t bin[4];
    if (strlen(ip) >= sizeof s->extra[0].ip || inet_pton(AF_INET, ip, bin) != 1)
        return ck_fail(err, CK_EINVAL, "the %s's address '%s' is not an IPv4 address", what, ip);
    if (is_node_ip(s, ip))
        return ck_fail(err, CK_EINVAL, "%s is a server of the cluster, already in the CTL as CCM+TFTP", ip);
    for (size_t i = 0; i < s->n_extra; i++)
        if (strcmp(s->extra[i].ip, ip) == 0)
            return ck_fail(err, CK_EINVAL, "%s is already in the CTL Entries", ip);
    if (s->n_extra == CC_MAX_EXTRA)
        return ck_fail(err, CK_EINVAL, "at most %d TFTP servers and firewalls can be added", CC_MAX_EXTRA);
    X509 *cert = NULL;
    if (ck_load_pem(pem, &cert, NULL, false, err) < 0) {
        ck_err_prefix(err, "the certificate of the %s", what);
        return -1;
    }
    cc_extra *x = &s->extra[s->n_extra++];
    x->kind = kind;
    snprintf(x->ip, sizeof x->ip, "%s", ip);
    x->cert = cert;
    return 0;
}

/* "IP=PEM" from --add-tftp / --add-firewall. */
static int add_extra_spec(state *s, enum cc_extra_kind kind, const char *spec, ck_err *err)
{
    const char *eq = strchr(spec, '=');
    char ip[64];
    if (!eq || eq == spec || !eq[1] || (size_t)(eq - spec) >= sizeof ip)
        return ck_fail(err, CK_EINVAL, "'%s' is not IP=PEM", spec);
    snprintf(ip, sizeof ip, "%.*s", (int)(eq - spec), spec);
    return add_extra(s, kind, ip, eq + 1, err);
}

/* Delete Selected: the entry on row num of the CTL Entries screen. The
 * cluster's own servers stay (the CTL Provider requires them) and so does
 * the first token (it signs). */
static int delete_row(state *s, long long num, ck_err *err)
{
    cc_entries en = entries(s);
    cc_row rows[64];
    size_t n = cc_entry_rows(&s->view, &en, rows, sizeof rows / sizeof rows[0]);
    if (num < 1 || (size_t)num > n || (size_t)num > sizeof rows / sizeof rows[0])
        return ck_fail(err, CK_EINVAL, "there is no CTL entry on row %lld (rows 1 to %zu)", num, n);
    const cc_row *r = &rows[num - 1];
    switch (r->kind) {
    case CC_ROW_CAPF:
    case CC_ROW_NODE:
        return ck_fail(err, CK_EINVAL,
                       "row %lld is one of the cluster's servers (CAPF, CCM+TFTP): every CTL must hold them", num);
    case CC_ROW_TOKEN:
        if (r->index == 0)
            return ck_fail(err, CK_EINVAL,
                           "row %lld is the first Security Token, which signs the CTL: Cancel and start again to sign "
                           "with another",
                           num);
        X509_free(s->sast[r->index].cert);
        ck_token_close(s->sast[r->index].token);
        memmove(&s->sast[r->index], &s->sast[r->index + 1], (s->n_sast - r->index - 1) * sizeof s->sast[0]);
        s->n_sast--;
        return 0;
    case CC_ROW_EXTRA:
        X509_free(s->extra[r->index].cert);
        memmove(&s->extra[r->index], &s->extra[r->index + 1], (s->n_extra - r->index - 1) * sizeof s->extra[0]);
        s->n_extra--;
        return 0;
    }
    return 0;
}

/* One scripted step on the CTL Entries screen: 1 when a step was taken, 0
 * when the flags are used up (Finish), -1 on error. */
static int scripted_step(state *s, int action, size_t *next_tftp, size_t *next_fw, size_t *next_del)
{
    ck_err err = {0};
    if (s->next_label < s->a.n_labels) {
        if (s->n_sast == CC_MAX_TOKENS) {
            printf("A CTL holds at most %d Security Tokens.\n", CC_MAX_TOKENS);
            s->next_label = s->a.n_labels;
            return 1;
        }
        printf("Add Tokens\n");
        return add_token(s, action, false) < 0 ? -1 : 1;
    }
    if (*next_tftp < s->a.n_tftp) {
        printf("Add TFTP: %s\n", s->a.tftp[*next_tftp]);
        if (add_extra_spec(s, CC_EXTRA_TFTP, s->a.tftp[(*next_tftp)++], &err) < 0) {
            cli_err_ck(&err, "ctl-client: --add-tftp");
            return -1;
        }
        return 1;
    }
    if (*next_fw < s->a.n_firewall) {
        printf("Add Firewall: %s\n", s->a.firewall[*next_fw]);
        if (add_extra_spec(s, CC_EXTRA_FIREWALL, s->a.firewall[(*next_fw)++], &err) < 0) {
            cli_err_ck(&err, "ctl-client: --add-firewall");
            return -1;
        }
        return 1;
    }
    if (*next_del < s->a.n_deletes) {
        printf("Delete Selected: %lld\n", s->a.deletes[*next_del]);
        if (delete_row(s, s->a.deletes[(*next_del)++], &err) < 0) {
            cli_err_ck(&err, "ctl-client: --delete");
            return -1;
        }
        return 1;
    }
    if (s->n_sast < 2) {
        cli_err("ctl-client: a CTL needs two Security Tokens; give a second --token LABEL");
        return -1;
    }
    return 0;
}

/* The interactive Add TFTP / Add Firewall dialog. */
static void ask_extra(state *s, enum cc_extra_kind kind)
{
    char ip[64], pem[1024];
    ck_err err = {0};
    if (cc_ask(kind == CC_EXTRA_TFTP ? "TFTP Server Hostname or IP Address: " : "Firewall Hostname or IP Address: ",
               ip, sizeof ip) < 0 ||
        cc_ask("Its certificate (PEM file): ", pem, sizeof pem) < 0)
        return;
    if (add_extra(s, kind, ip, pem, &err) < 0)
        printf("%s\n", err.msg);
}

/* One interactive step: 1 go on, 0 Finish, -1 Cancel. */
static int interactive_step(state *s, int action)
{
    bool full = s->n_sast >= CC_MAX_TOKENS;
    const char *prompt = s->n_sast < 2 ? "[A]dd Tokens (a CTL needs two), Add [T]FTP, Add Fi[r]ewall, [D]elete "
                                         "Selected or [c]ancel? "
                         : full ? "[F]inish, Add [T]FTP, Add Fi[r]ewall, [D]elete Selected or [c]ancel? "
                                : "[F]inish, [A]dd Tokens, Add [T]FTP, Add Fi[r]ewall, [D]elete Selected or [c]ancel? ";
    char line[16];
    if (cc_ask(prompt, line, sizeof line) < 0)
        return -1;
    int ch = tolower((unsigned char)line[0]);
    if (!ch)
        ch = s->n_sast < 2 ? 'a' : 'f';
    switch (ch) {
    case 'c': return -1;
    case 'a':
        if (full) {
            printf("A CTL holds at most %d Security Tokens.\n", CC_MAX_TOKENS);
            return 1;
        }
        return add_token(s, action, false) < 0 ? -1 : 1;
    case 't': ask_extra(s, CC_EXTRA_TFTP); return 1;
    case 'r': ask_extra(s, CC_EXTRA_FIREWALL); return 1;
    case 'd': {
        ck_err err = {0};
        long long num;
        if (cc_ask("Delete the entry on row: ", line, sizeof line) < 0)
            return 1;
        if (!ck_parse_ll(line, 1, 64, &num))
            printf("'%s' is not a row number\n", line);
        else if (delete_row(s, num, &err) < 0)
            printf("%s\n", err.msg);
        return 1;
    }
    case 'f': return s->n_sast < 2 ? 1 : 0;
    default: return 1;
    }
}

static int gather_tokens(state *s, int action)
{
    if (add_token(s, action, true) < 0)
        return -1;
    if (action == CK_PV_ACTION_UPDATE)
        keep_ctl_tokens(s);
    size_t next_tftp = 0, next_fw = 0, next_del = 0;
    for (;;) {
        printf("\n");
        cc_entries en = entries(s);
        cc_show_entries(stdout, &s->view, &en);
        int rc = interactive(s) ? interactive_step(s, action)
                                : scripted_step(s, action, &next_tftp, &next_fw, &next_del);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
    }
    printf("Finish\n");
    return 0;
}

static int sign_ctl(state *s, uint8_t **ctl, size_t *len)
{
    cc_sast *signer_tok = &s->sast[0];
    char pin[CK_TOKEN_PIN_MAX + 2], prompt[128];
    ck_err err = {0};
    snprintf(prompt, sizeof prompt, "Token password for %s", signer_tok->label);
    int n = cc_read_secret(prompt, s->a.pinfile, pin, sizeof pin, &err);
    int rc = -1;
    ck_tl_signer signer;
    if (n < 0)
        cli_err_ck(&err, "ctl-client");
    else if (ck_token_login(signer_tok->token, pin, (size_t)n, &err) < 0 ||
             ck_token_signer(signer_tok->token, &signer, &err) < 0)
        cli_err_ck(&err, "ctl-client");
    else {
        cc_entries en = entries(s);
        if (cc_build_ctl(&s->view, &en, &signer, ctl, len, &err) < 0)
            cli_err_ck(&err, "ctl-client: building the CTL");
        else
            rc = 0;
    }
    OPENSSL_cleanse(pin, sizeof pin);
    return rc;
}

static const char *node_ip(const state *s, const char *name)
{
    for (size_t i = 0; i < s->view.n_nodes; i++)
        if (strcmp(s->view.nodes[i].name, name) == 0)
            return s->view.nodes[i].ip;
    return "?";
}

static int submit(state *s, int action, const uint8_t *ctl, size_t len)
{
    cc_conn c;
    if (connect_login(s, &c) < 0)
        return EXIT_ERROR;
    ck_pv_msg req = {.type = CK_PV_SUBMIT_CTL, .action = (uint8_t)action, .ctl = {ctl, len}}, resp;
    uint8_t *hold = NULL;
    ck_err err = {0};
    int rc = cc_call(&c, &req, &resp, &hold, &err);
    cc_close(&c);
    if (rc < 0 && err.code != CK_EIO) {
        cli_err_ck(&err, "ctl-client");
        return EXIT_ERROR;
    }
    if (rc < 0) {
        /* The request was sent: the provider may have published the CTL
         * before it went away (its host crashed), so say what to look at. */
        cli_err("ctl-client: %s before answering the submitted CTL; it may or may not have been published: "
                "`show ctl` on the publisher tells, and the CTL Client can be run again",
                err.msg);
        return EXIT_ERROR;
    }
    if (resp.status == CK_PV_REFUSED || resp.status == CK_PV_DENIED || resp.status == CK_PV_BADREQ) {
        cli_err("ctl-client: the CTL Provider refused the CTL: %s", resp.message);
        ck_pv_msg_clear(&resp);
        free(hold);
        return EXIT_INVALID;
    }
    /* The last screen's columns and closing line are the seed's (step 19). */
    printf("\n%-16s %-56s %s\n", "Server", "File Location", "Status");
    bool all = resp.n_results > 0;
    for (size_t i = 0; i < resp.n_results; i++) {
        const ck_pv_result *r = &resp.results[i];
        printf("%-16s %-56s %s\n", node_ip(s, r->name), r->location, r->passed ? "Passed" : "Failed");
        all = all && r->passed;
    }
    if (resp.status != CK_PV_OK)
        cli_err("ctl-client: %s", resp.message);
    if (all)
        printf("You must restart all the Cisco Unified Communications Manager and TFTP nodes in the Cluster.\n");
    printf("Done\n");
    ck_pv_msg_clear(&resp);
    free(hold);
    return all ? EXIT_OK : EXIT_INVALID;
}

static int parse_args(int argc, char **argv, args *a)
{
    static const struct option opts[] = {
        {"host", required_argument, 0, 'H'},          {"user", required_argument, 0, 'u'},
        {"module", required_argument, 0, 'm'},        {"password-file", required_argument, 0, 'p'},
        {"pin-file", required_argument, 0, 'P'},      {"server-cert", required_argument, 0, 'c'},
        {"action", required_argument, 0, 'a'},        {"token", required_argument, 0, 't'},
        {"yes", no_argument, 0, 'y'},                 {"out", required_argument, 0, 'o'},
        {"submit", required_argument, 0, 's'},        {"add-tftp", required_argument, 0, 'T'},
        {"add-firewall", required_argument, 0, 'F'},  {"delete", required_argument, 0, 'D'},
        {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "y", opts, NULL)) != -1) {
        switch (ch) {
        case 'H': a->host = optarg; break;
        case 'u': a->user = optarg; break;
        case 'm': a->module = optarg; break;
        case 'p': a->pwfile = optarg; break;
        case 'P': a->pinfile = optarg; break;
        case 'c': a->server_cert = optarg; break;
        case 'y': a->yes = true; break;
        case 'o': a->out = optarg; break;
        case 's': a->submit = optarg; break;
        case 't':
            if (a->n_labels == CC_MAX_LABELS) {
                cli_err("ctl-client: at most %d --token", CC_MAX_LABELS);
                return -1;
            }
            a->labels[a->n_labels++] = optarg;
            break;
        case 'T':
        case 'F': {
            const char **v = ch == 'T' ? a->tftp : a->firewall;
            size_t *n = ch == 'T' ? &a->n_tftp : &a->n_firewall;
            if (*n == CC_MAX_EXTRA) {
                cli_err("ctl-client: at most %d --%s", CC_MAX_EXTRA, ch == 'T' ? "add-tftp" : "add-firewall");
                return -1;
            }
            v[(*n)++] = optarg;
            break;
        }
        case 'D':
            if (a->n_deletes == CC_MAX_DELETES) {
                cli_err("ctl-client: at most %d --delete", CC_MAX_DELETES);
                return -1;
            }
            if (!ck_parse_ll(optarg, 1, 64, &a->deletes[a->n_deletes])) {
                cli_err("ctl-client: --delete takes a row number of the CTL Entries screen, not '%s'", optarg);
                return -1;
            }
            a->n_deletes++;
            break;
        case 'a':
            if (strcmp(optarg, "mixed") == 0)
                a->action = CK_PV_ACTION_MIXED;
            else if (strcmp(optarg, "non-secure") == 0)
                a->action = CK_PV_ACTION_NONSECURE;
            else if (strcmp(optarg, "update") == 0)
                a->action = CK_PV_ACTION_UPDATE;
            else {
                cli_err("ctl-client: --action must be mixed, non-secure or update, not '%s'", optarg);
                return -1;
            }
            break;
        default: fputs(usage, stderr); return -1;
        }
    }
    if (optind < argc) {
        cli_err("ctl-client: unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (a->out && a->submit) {
        cli_err("ctl-client: --out and --submit exclude each other");
        return -1;
    }
    if (!a->host || !a->user) {
        cli_err("ctl-client: --host and --user are required");
        return -1;
    }
    return 0;
}

int cmd_ctl_client(int argc, char **argv)
{
    if (cli_wants_help(argc, argv, usage))
        return EXIT_OK;
    state *s = calloc(1, sizeof *s);
    if (!s) {
        cli_err("ctl-client: out of memory");
        return EXIT_ERROR;
    }
    int rc = EXIT_ERROR;
    uint8_t *ctl = NULL;
    size_t len = 0;
    ck_err err = {0};
    if (parse_args(argc, argv, &s->a) < 0)
        goto out;
    const char *module = cc_module(s->a.module);
    if (!module && !s->a.submit) {
        cli_err("ctl-client: no PKCS#11 module: give --module PATH or set CTLKIT_P11_MODULE");
        goto out;
    }
    printf("Cisco CTL Client (ctlkit %s)\nCisco Unified Communications Manager Server: %s  Username: %s\n",
           CTLKIT_VERSION, s->a.host, s->a.user);
    if (cc_read_secret("Password", s->a.pwfile, s->password, sizeof s->password, &err) < 0) {
        cli_err_ck(&err, "ctl-client");
        goto out;
    }
    if (read_cluster(s) < 0)
        goto out;
    if (s->view.mode == 1 && !s->view.ctl.p)
        printf("\nWarning: %s\n", NO_CTL_WARNING);
    int action = choose_action(s);
    if (action < 0)
        goto out;
    if (s->a.submit) {
        if (ck_read_file(s->a.submit, CK_TL_MAX_BUILD, &ctl, &len, &err) < 0) {
            cli_err_ck(&err, "ctl-client");
            goto out;
        }
        printf("Submitting %s (%zu bytes)\n", s->a.submit, len);
        rc = submit(s, action, ctl, len);
        goto out;
    }
    if (ck_p11_load(module, &s->mod, &err) < 0) {
        cli_err_ck(&err, "ctl-client");
        goto out;
    }
    if (gather_tokens(s, action) < 0) {
        rc = EXIT_INVALID;
        goto out;
    }
    if (sign_ctl(s, &ctl, &len) < 0) {
        rc = EXIT_INVALID;
        goto out;
    }
    if (s->a.out) {
        if (ck_write_file_atomic(s->a.out, ctl, len, 0644, &err) < 0) {
            cli_err_ck(&err, "ctl-client");
            goto out;
        }
        printf("CTL file written to %s (%zu bytes), not submitted\n", s->a.out, len);
        rc = EXIT_OK;
        goto out;
    }
    rc = submit(s, action, ctl, len);
out:
    free(ctl);
    for (size_t i = 0; i < s->n_sast; i++) {
        X509_free(s->sast[i].cert);
        ck_token_close(s->sast[i].token);
    }
    for (size_t i = 0; i < s->n_extra; i++)
        X509_free(s->extra[i].cert);
    ck_p11_free(s->mod);
    ck_pv_msg_clear(&s->view);
    free(s->view_hold);
    OPENSSL_cleanse(s->password, sizeof s->password);
    free(s);
    return rc;
}
