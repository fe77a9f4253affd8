/* ctlkit cluster init | status. */
#include <arpa/inet.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "drift_view.h"
#include "ctlkit/bytes.h"
#include "ctlkit/cluster.h"
#include "ctlkit/fileio.h"
#include "ctlkit/params.h"
#include "ctlkit/text.h"
#include "ctlkit/tls_policy.h"

static const char usage[] =
    "usage: ctlkit cluster init DIR --publisher NAME=IP [--subscriber NAME=IP ...]\n"
    "                           [--tftp-port P] [--tvs-port P] [--provider-port P] [--capf-port P]\n"
    "                           [--ou OU] [--o ORG] [--l CITY] [--st STATE] [--c CC] [--bits 1024|2048|4096]\n"
    "                           [--digest sha256|sha1]\n"
    "       ctlkit cluster init postgresql://USER@HOST:PORT/DB --dir DIR --publisher NAME=IP\n"
    "                           [--subscriber NAME=IP ...] [the options above]\n"
    "       ctlkit cluster join postgresql://USER@HOST:PORT/DB --dir DIR --node NAME\n"
    "       ctlkit cluster status DIR|postgresql://... [--json]\n"
    "\n"
    "init creates a cluster in DIR: its database, each node's key and TFTP\n"
    "directories, each node's certificates (CallManager and TVS on every node,\n"
    "CAPF and ITLRecovery on the publisher; RSA, SHA256withRSA or with\n"
    "--digest sha1 SHA1withRSA as CUCM 10.5's originals, self-signed),\n"
    "each node's ITL, in non-secure mode. Ports default to CUCM's (TFTP 69,\n"
    "TVS 2445, CTL Provider 2444, CAPF 3804: the publisher's CAPFPhonePort);\n"
    "every node listens on its own IP.\n"
    "With a postgresql:// URL (a cluster across hosts, docs/cluster-across-hosts.md)\n"
    "init creates the schema, every node's row and the publisher's keys,\n"
    "certificates and ITL in the publisher's node folder DIR; each subscriber\n"
    "then runs join on its own host, which makes its keys in its DIR and\n"
    "registers the certificates. The password may be in the URL, PGPASSFILE or\n"
    "a service file; it is never printed.\n"
    "status prints the nodes, the security mode, the certificates with their\n"
    "expiry, whether each node's TFTP directory holds the published CTL/ITL,\n"
    "what each node's daemon reports it serves (version, MD5, since when),\n"
    "and one list of warnings (TLS minimum, stale CTL, wrong signer, differing\n"
    "copies, certificates within 30 days of their expiry).\n";

static int parse_node(const char *arg, ck_node_spec *spec, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "%s", arg);
    char *eq = strchr(buf, '=');
    uint8_t ip[4];
    if (!eq || eq == buf || inet_pton(AF_INET, eq + 1, ip) != 1) {
        cli_err("cluster init: '%s' is not NAME=IPv4", arg);
        return -1;
    }
    *eq = '\0';
    for (const char *p = buf; *p; p++)
        if (!(*p == '-' || *p == '_' || *p == '.' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
              (*p >= 'A' && *p <= 'Z'))) {
            cli_err("cluster init: node name '%s' may only hold letters, digits, '-', '_' and '.'", buf);
            return -1;
        }
    spec->name = buf;
    spec->ip = eq + 1;
    return 0;
}

static int port_arg(const char *opt, const char *v, int *out)
{
    long long p;
    if (!ck_parse_ll(v, 1, 65535, &p)) {
        cli_err("cluster init: %s must be a port from 1 to 65535, not '%s'", opt, v);
        return -1;
    }
    *out = (int)p;
    return 0;
}

static int cluster_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"publisher", required_argument, 0, 'p'}, {"subscriber", required_argument, 0, 's'},
        {"tftp-port", required_argument, 0, 'T'}, {"tvs-port", required_argument, 0, 'V'},
        {"provider-port", required_argument, 0, 'P'}, {"ou", required_argument, 0, 'u'},
        {"o", required_argument, 0, 'o'},         {"l", required_argument, 0, 'l'},
        {"st", required_argument, 0, 't'},        {"c", required_argument, 0, 'c'},
        {"bits", required_argument, 0, 'b'},      {"digest", required_argument, 0, 'd'},
        {"dir", required_argument, 0, 'D'},       {"capf-port", required_argument, 0, 'C'},
        {0, 0, 0, 0}};
    const char *node_dir = NULL;
    ck_node_spec nodes[32];
    char names[32][128];
    size_t n = 1;
    bool have_pub = false;
    int tftp = 0, tvs = 0, provider = 0, ch;
    long long bits = 2048;
    ck_cluster_init_opts o = {.ou = "TAC", .o = "ctlkit", .l = "Krakow", .st = "Malopolska", .c = "PL",
                              .who = getenv("USER") ? getenv("USER") : "admin"};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long_only(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            if (have_pub) {
                cli_err("cluster init: a cluster has one publisher");
                return EXIT_ERROR;
            }
            if (parse_node(optarg, &nodes[0], names[0], sizeof names[0]) < 0)
                return EXIT_ERROR;
            have_pub = true;
            break;
        case 's':
            if (n == 32) {
                cli_err("cluster init: at most 31 subscribers");
                return EXIT_ERROR;
            }
            if (parse_node(optarg, &nodes[n], names[n], sizeof names[n]) < 0)
                return EXIT_ERROR;
            n++;
            break;
        case 'T': if (port_arg("--tftp-port", optarg, &tftp) < 0) return EXIT_ERROR; break;
        case 'V': if (port_arg("--tvs-port", optarg, &tvs) < 0) return EXIT_ERROR; break;
        case 'P': if (port_arg("--provider-port", optarg, &provider) < 0) return EXIT_ERROR; break;
        case 'C': if (port_arg("--capf-port", optarg, &o.capf_port) < 0) return EXIT_ERROR; break;
        case 'D': node_dir = optarg; break;
        case 'u': o.ou = optarg; break;
        case 'o': o.o = optarg; break;
        case 'l': o.l = optarg; break;
        case 't': o.st = optarg; break;
        case 'c': o.c = optarg; break;
        case 'd':
            if (ck_cluster_digest_problem(optarg)) {
                cli_err("cluster init: %s, not '%s'", ck_cluster_digest_problem(optarg), optarg);
                return EXIT_ERROR;
            }
            o.digest = optarg;
            break;
        case 'b':
            if (!ck_parse_ll(optarg, 1024, 4096, &bits) || (bits != 1024 && bits != 2048 && bits != 4096)) {
                cli_err("cluster init: --bits must be 1024, 2048 or 4096, not '%s'", optarg);
                return EXIT_ERROR;
            }
            break;
        default:
            cli_err("cluster init: unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
            return EXIT_ERROR;
        }
    }
    if (optind != argc - 1 || !have_pub) {
        cli_err("cluster init: needs DIR and --publisher NAME=IP (see --help)");
        return EXIT_ERROR;
    }
    for (size_t i = 0; i < n; i++) {
        nodes[i].tftp_port = tftp;
        nodes[i].tvs_port = tvs;
        nodes[i].provider_port = provider;
        for (size_t j = 0; j < i; j++)
            if (strcmp(nodes[i].name, nodes[j].name) == 0) {
                cli_err("cluster init: node '%s' named twice", nodes[i].name);
                return EXIT_ERROR;
            }
    }
    const char *where = argv[optind];
    bool url = ck_cluster_address_is_url(where);
    if (url != (node_dir != NULL)) {
        cli_err(url ? "cluster init: a postgresql:// cluster needs --dir DIR, the publisher's node folder on this host"
                    : "cluster init: --dir is for a postgresql:// cluster; a cluster folder holds every node's folder");
        return EXIT_ERROR;
    }
    char masked[1024];
    ck_store_mask_address(where, masked, sizeof masked);
    o.nodes = nodes;
    o.n_nodes = n;
    o.rsa_bits = (int)bits;
    ck_err err = {0};
    printf("Creating cluster in %s: publisher %s", url ? masked : where, nodes[0].name);
    for (size_t i = 1; i < n; i++)
        printf(", subscriber %s", nodes[i].name);
    printf("\n");
    fflush(stdout);
    if ((url ? ck_cluster_create_at(where, node_dir, &o, &err) : ck_cluster_create(where, &o, &err)) < 0) {
        cli_err_ck(&err, "cluster init");
        return EXIT_ERROR;
    }
    if (url)
        printf("Cluster created: %zu node(s), non-secure mode (ClusterSecurityMode 0); the publisher's keys are in %s.\n"
               "Each subscriber joins on its own host: ctlkit cluster join %s --dir DIR --node NAME\n",
               n, node_dir, masked);
    else
        printf("Cluster created: %zu node(s), non-secure mode (ClusterSecurityMode 0), an ITL on every node.\n", n);
    return EXIT_OK;
}

static int cluster_join(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'D'}, {"node", required_argument, 0, 'n'}, {0, 0, 0, 0}};
    const char *dir = NULL, *node = NULL;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long_only(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'D': dir = optarg; break;
        case 'n': node = optarg; break;
        default:
            cli_err("cluster join: unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
            return EXIT_ERROR;
        }
    }
    if (optind != argc - 1 || !dir || !node) {
        cli_err("cluster join: needs postgresql://..., --dir DIR and --node NAME (see --help)");
        return EXIT_ERROR;
    }
    char masked[1024];
    ck_store_mask_address(argv[optind], masked, sizeof masked);
    const char *user = getenv("USER");
    char who[128];
    snprintf(who, sizeof who, "%s@%s", user ? user : "admin", node);
    ck_err err = {0};
    if (ck_cluster_join(argv[optind], dir, node, who, &err) < 0) {
        cli_err_ck(&err, "cluster join");
        return EXIT_ERROR;
    }
    printf("%s joined %s: its keys are in %s, its certificates and ITL in the cluster database.\n"
           "Start its daemon: ctlkitd --cluster %s --dir %s --node %s\n",
           node, masked, dir, masked, dir, node);
    return EXIT_OK;
}

/* One file of a node in JSON: the folder's copy, what was published, what
 * the daemon reports serving. */
static json_t *file_json(const ck_status_file *f)
{
    json_t *served = json_null();
    if (f->served) {
        char since[32];
        ck_utc(f->served_since, CK_UTC_SECONDS, since, sizeof since);
        served = json_pack("{s:I,s:s,s:s,s:I,s:s,s:b}", "version", (json_int_t)f->served_version, "md5",
                           f->served_md5, "sha1", f->served_sha1, "since", (json_int_t)f->served_since, "since_utc",
                           since, "differs", f->served_differs);
    }
    return json_pack("{s:s,s:s?,s:o,s:s?,s:o}", "state", ck_copy_state_word(f->copy), "md5",
                     *f->copy_md5 ? f->copy_md5 : NULL, "published_version",
                     f->published ? json_integer(f->published_version) : json_null(), "published_md5",
                     f->published ? f->published_md5 : NULL, "served", served);
}

static void print_served(const char *node, const char *name, const ck_status_file *f)
{
    if (!f->served)
        return;
    char since[32], version[24];
    ck_utc(f->served_since, CK_UTC_SECONDS, since, sizeof since);
    snprintf(version, sizeof version, "%lld", (long long)f->served_version);
    printf("%-20s %-12s %-8s %-32s %-19s %s\n", node, name, f->served_version ? version : "-", f->served_md5, since,
           !f->served_differs ? "published" : f->published ? "DIFFERS" : "unpublished");
}

/* The phones summary of cluster status (the drift of `show phones trust`):
 * a JSON field always, a text line once any node has seen a phone. */
static void status_phones(ck_cluster *c, json_t *root, bool json)
{
    ck_drift d;
    ck_err err = {0};
    if (ck_cluster_drift(c, (int64_t)time(NULL), &d, &err) < 0) {
        if (root)
            json_object_set_new(root, "phones", json_null());
        return;
    }
    if (root)
        json_object_set_new(root, "phones", json_pack("{s:I,s:I,s:I,s:I,s:I}", "current", (json_int_t)d.total.current,
                                                  "older", (json_int_t)d.total.older, "none",
                                                  (json_int_t)d.total.none, "stranded", (json_int_t)d.total.stranded,
                                                  "aged_out", (json_int_t)d.total.stale));
    size_t seen = d.total.current + d.total.older + d.total.none + d.total.stale;
    if (!json && seen) {
        char line[256];
        drift_summary_line(&d, line, sizeof line);
        printf("Phones: %s (show phones trust)\n", line);
    }
    ck_drift_free(&d);
}

static void print_status(const ck_cluster_status *st, ck_cluster *c)
{
    printf("Cluster %s\n", st->name);
    printf("Security mode: %d (%s)\n", st->security_mode, st->security_mode ? "mixed" : "non-secure");
    printf("TLS minimum version: %s\n", ck_tls_version_name(st->tls_min_version));
    if (st->ctl.version)
        printf("Published CTL: %zu bytes, MD5 %s, version %lld\n", st->ctl.len, st->ctl.md5,
               (long long)st->ctl.version);
    else
        printf("Published CTL: none\n");
    status_phones(c, NULL, false);
    printf("\n%-20s %-10s %-6s %-15s %-6s %-6s %-18s %s\n", "NODE", "ROLE", "JOINED", "IP", "TFTP", "TVS", "CTL",
           "ITL");
    for (size_t i = 0; i < st->n_nodes; i++) {
        const ck_status_node *n = &st->nodes[i];
        char ctl_col[40], itl_col[40];
        snprintf(ctl_col, sizeof ctl_col, "%s%s%.8s", ck_copy_state_word(n->ctl.copy), *n->ctl.copy_md5 ? " " : "",
                 n->ctl.copy_md5);
        snprintf(itl_col, sizeof itl_col, "%s%s%.8s", ck_copy_state_word(n->itl.copy), *n->itl.copy_md5 ? " " : "",
                 n->itl.copy_md5);
        printf("%-20s %-10s %-6s %-15s %-6d %-6d %-18s %s\n", n->node.name,
               n->node.publisher ? "publisher" : "subscriber", n->joined ? "yes" : "no", n->node.ip,
               n->node.tftp_port, n->node.tvs_port, ctl_col, itl_col);
    }
    printf("\nServed, as each node's daemon reports it:\n");
    printf("%-20s %-12s %-8s %-32s %-19s %s\n", "NODE", "FILE", "VERSION", "MD5", "SINCE (UTC)", "STATE");
    for (size_t i = 0; i < st->n_nodes; i++) {
        const ck_status_node *n = &st->nodes[i];
        if (!n->ctl.served && !n->itl.served)
            printf("%-20s %s\n", n->node.name, "no report from its daemon");
        print_served(n->node.name, CK_CTL_NAME, &n->ctl);
        print_served(n->node.name, CK_ITL_NAME, &n->itl);
    }
    printf("\n%-20s %-12s %-34s %-10s %s\n", "NODE", "UNIT", "SERIAL", "EXPIRES", "SUBJECT");
    for (size_t k = 0; k < st->n_certs; k++) {
        char exp[32];
        ck_utc(st->certs[k].not_after, CK_UTC_DAY, exp, sizeof exp);
        printf("%-20s %-12s %-34s %-10s %s\n", st->certs[k].node, st->certs[k].unit, st->certs[k].serial, exp,
               st->certs[k].subject);
    }
    printf("\n");
    if (st->n_warnings == 0)
        printf("No warnings.\n");
    for (size_t k = 0; k < st->n_warnings; k++)
        printf("WARNING: %s\n", st->warnings[k]);
}

static void print_status_json(const ck_cluster_status *st, ck_cluster *c)
{
    json_t *root = json_object(), *jnodes = json_array(), *jw = json_array();
    json_object_set_new(root, "cluster", json_string(st->name));
    json_object_set_new(root, "security_mode", json_integer(st->security_mode));
    json_object_set_new(root, "security_mode_name", json_string(st->security_mode ? "mixed" : "non-secure"));
    json_object_set_new(root, "tls_min_version", json_string(ck_tls_version_name(st->tls_min_version)));
    json_object_set_new(root, "tls_warning", *st->tls_warning ? json_string(st->tls_warning) : json_null());
    json_object_set_new(root, "ctl", st->ctl.version ? json_pack("{s:s,s:s,s:I,s:I}", "md5", st->ctl.md5, "sha1",
                                                                st->ctl.sha1, "length", (json_int_t)st->ctl.len,
                                                                "version", (json_int_t)st->ctl.version)
                                                     : json_null());
    for (size_t i = 0; i < st->n_nodes; i++) {
        const ck_status_node *n = &st->nodes[i];
        json_t *jn = json_pack("{s:s,s:s,s:b,s:s,s:i,s:i,s:i,s:o,s:o}", "name", n->node.name, "role",
                               n->node.publisher ? "publisher" : "subscriber", "joined", n->joined, "ip", n->node.ip,
                               "tftp_port", n->node.tftp_port, "tvs_port", n->node.tvs_port, "provider_port",
                               n->node.provider_port, "ctl", file_json(&n->ctl), "itl", file_json(&n->itl));
        json_t *jc = json_array();
        for (size_t k = 0; k < st->n_certs; k++)
            if (strcmp(st->certs[k].node, n->node.name) == 0) {
                char exp[32];
                ck_utc(st->certs[k].not_after, CK_UTC_DAY, exp, sizeof exp);
                json_array_append_new(jc, json_pack("{s:s,s:s,s:s,s:s}", "unit", st->certs[k].unit, "serial",
                                                    st->certs[k].serial, "subject", st->certs[k].subject, "expires",
                                                    exp));
            }
        json_object_set_new(jn, "certificates", jc);
        json_array_append_new(jnodes, jn);
    }
    json_object_set_new(root, "nodes", jnodes);
    status_phones(c, root, true);
    for (size_t k = 0; k < st->n_warnings; k++)
        json_array_append_new(jw, json_string(st->warnings[k]));
    json_object_set_new(root, "warnings", jw);
    char *txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (txt)
        printf("%s\n", txt);
    free(txt);
    json_decref(root);
}

static int cluster_status(int argc, char **argv)
{
    bool json = false;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else {
            char shown[512]; /* a second cluster URL may carry a password */
            ck_store_mask_address(argv[i], shown, sizeof shown);
            cli_err("cluster status: unexpected argument '%s' (see --help)", shown);
            return EXIT_ERROR;
        }
    }
    if (!dir) {
        cli_err("cluster status: name the cluster directory");
        return EXIT_ERROR;
    }
    ck_cluster *c = NULL;
    ck_err err = {0};
    if (ck_cluster_open(dir, NULL, &c, &err) < 0) {
        cli_err_ck(&err, NULL);
        return EXIT_ERROR;
    }
    ck_cluster_status st;
    int rc = EXIT_ERROR;
    if (ck_cluster_status_read(c, NULL, &st, &err) < 0)
        cli_err_ck(&err, NULL);
    else {
        if (json)
            print_status_json(&st, c);
        else
            print_status(&st, c);
        ck_cluster_status_free(&st);
        rc = EXIT_OK;
    }
    ck_cluster_close(c);
    return rc;
}

int cmd_cluster(int argc, char **argv)
{
    static const cli_sub subs[] = {{"init", cluster_init}, {"join", cluster_join}, {"status", cluster_status}};
    return cli_dispatch("cluster", argc, argv, usage, subs, sizeof subs / sizeof subs[0]);
}
