/* ctlkit device add | capf | show | list | remove | import | template:
 * phones in the cluster store (lib/cluster/devices.c decides; this file
 * parses and prints). docs/phones-capf.md. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctlkit/device.h"
#include "ctlkit/fileio.h"
#include "ctlkit/text.h"

static const char usage[] =
    "usage: ctlkit device add      --cluster C SEP<MAC> --model MODEL [--profile non-secure|authenticated|encrypted]\n"
    "                              [--encrypted-config] [--template FILE.xml]\n"
    "       ctlkit device capf     --cluster C SEP<MAC> --operation install|delete|troubleshoot|none\n"
    "                              [--auth string|null|lsc|mic] [--string DIGITS] [--key rsa:2048|ec:384]\n"
    "                              [--completes-by YYYY-MM-DD]\n"
    "       ctlkit device show     --cluster C SEP<MAC> [--json]\n"
    "       ctlkit device list     --cluster C [--json]\n"
    "       ctlkit device remove   --cluster C SEP<MAC>\n"
    "       ctlkit device import   --cluster C FILE.csv\n"
    "       ctlkit device template --cluster C [FILE.xml | --reset]\n"
    "\n"
    "C is the cluster's folder, or its postgresql:// URL (then --dir DIR --node NAME\n"
    "name this host's node folder, which gets the files at once; every other node's\n"
    "daemon writes its own). Each device gets SEP<MAC>.cnf.xml in every node's TFTP\n"
    "folder, and SEP<MAC>.cnf.xml.sgn in mixed mode, built from the device, the\n"
    "cluster and the template (the cluster's, set with `device template`, or the\n"
    "device's own). import reads a CSV file with a header line naming the columns\n"
    "name, model, profile, encrypted-config, operation, auth, string, key,\n"
    "completes-by (name and model required); a bad row names its line and nothing\n"
    "is imported. docs/phones-capf.md walks through it.\n";

/* The options every subcommand shares, and the opened cluster. */
typedef struct device_cli {
    const char *cluster, *dir, *node;
    bool json;
    ck_cluster *c;
} device_cli;

static int open_cluster(device_cli *d, const char *sub)
{
    if (!d->cluster) {
        cli_err("device %s: needs --cluster DIR or postgresql://... (see --help)", sub);
        return -1;
    }
    if ((d->dir != NULL) != (d->node != NULL) || (d->dir && !ck_cluster_address_is_url(d->cluster))) {
        cli_err("device %s: --dir and --node go together, with a postgresql:// cluster", sub);
        return -1;
    }
    const char *user = getenv("USER");
    char who[128];
    snprintf(who, sizeof who, "%s@device", user ? user : "admin");
    ck_cluster_where w = {.address = d->cluster, .dir = d->dir, .node = d->node};
    ck_err err = {0};
    if (ck_cluster_open_at(&w, who, &d->c, &err) < 0) {
        cli_err_ck(&err, NULL);
        return -1;
    }
    return 0;
}

/* Reads the positional argument(s) after the options: exactly `want`. */
static bool positional(int argc, char **argv, int want, const char *sub, const char *what)
{
    if (argc - optind == want)
        return true;
    cli_err("device %s: needs %s (see --help)", sub, what);
    return false;
}

enum { O_CLUSTER = 1000, O_DIR, O_NODE, O_JSON };
#define COMMON_OPTS                                                                                                  \
    {"cluster", required_argument, 0, O_CLUSTER}, {"dir", required_argument, 0, O_DIR},                             \
        {"node", required_argument, 0, O_NODE}

static bool common_opt(device_cli *d, int ch)
{
    switch (ch) {
    case O_CLUSTER: d->cluster = optarg; return true;
    case O_DIR: d->dir = optarg; return true;
    case O_NODE: d->node = optarg; return true;
    case O_JSON: d->json = true; return true;
    }
    return false;
}

static int bad_option(const char *sub, char **argv)
{
    cli_err("device %s: unknown or incomplete option '%s' (see --help)", sub, argv[optind - 1]);
    return EXIT_ERROR;
}

static int done(device_cli *d, int rc, const ck_err *err, const char *msg)
{
    if (rc < 0)
        cli_err_ck(err, NULL);
    else if (msg)
        puts(msg);
    ck_cluster_close(d->c);
    return rc < 0 ? (err->code == CK_EINVAL || err->code == CK_ENOTFOUND || err->code == CK_ESTATE ? EXIT_INVALID
                                                                                                    : EXIT_ERROR)
                  : EXIT_OK;
}

static char *read_text(const char *path, size_t max, size_t *len)
{
    uint8_t *data = NULL;
    ck_err err = {0};
    if (ck_read_file(path, max, &data, len, &err) < 0) {
        cli_err_ck(&err, NULL);
        return NULL;
    }
    char *text = realloc(data, *len + 1);
    if (!text) {
        free(data);
        cli_err("out of memory");
        return NULL;
    }
    text[*len] = 0;
    if (strlen(text) != *len) {
        cli_err("%s: holds a NUL byte; a text file is wanted", path);
        free(text);
        return NULL;
    }
    return text;
}

static int device_add(int argc, char **argv)
{
    static const struct option opts[] = {COMMON_OPTS,
                                         {"model", required_argument, 0, 'm'},
                                         {"profile", required_argument, 0, 'p'},
                                         {"encrypted-config", no_argument, 0, 'e'},
                                         {"template", required_argument, 0, 't'},
                                         {0, 0, 0, 0}};
    device_cli d = {0};
    ck_device_add a = {0};
    const char *template_path = NULL;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (common_opt(&d, ch))
            continue;
        switch (ch) {
        case 'm': a.model = optarg; break;
        case 'p': a.profile = optarg; break;
        case 'e': a.encrypted_config = true; break;
        case 't': template_path = optarg; break;
        default: return bad_option("add", argv);
        }
    }
    if (!positional(argc, argv, 1, "add", "the device name (SEP<MAC>)"))
        return EXIT_ERROR;
    if (!a.model) {
        cli_err("device add: needs --model MODEL (see --help)");
        return EXIT_ERROR;
    }
    a.name = argv[optind];
    size_t len = 0;
    char *tmpl = NULL;
    if (template_path && !(tmpl = read_text(template_path, CK_DEVICE_TEMPLATE_MAX, &len)))
        return EXIT_ERROR;
    a.template_xml = tmpl;
    if (open_cluster(&d, "add") < 0) {
        free(tmpl);
        return EXIT_ERROR;
    }
    ck_err err = {0};
    int rc = ck_cluster_device_add(d.c, &a, &err);
    free(tmpl);
    char msg[128];
    snprintf(msg, sizeof msg, "Device %s added.", a.name);
    return done(&d, rc, &err, msg);
}

static int device_capf(int argc, char **argv)
{
    static const struct option opts[] = {COMMON_OPTS,
                                         {"operation", required_argument, 0, 'o'},
                                         {"auth", required_argument, 0, 'a'},
                                         {"string", required_argument, 0, 's'},
                                         {"key", required_argument, 0, 'k'},
                                         {"completes-by", required_argument, 0, 'b'},
                                         {0, 0, 0, 0}};
    device_cli d = {0};
    ck_device_capf cp = {0};
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (common_opt(&d, ch))
            continue;
        switch (ch) {
        case 'o': cp.operation = optarg; break;
        case 'a': cp.auth = optarg; break;
        case 's': cp.auth_string = optarg; break;
        case 'k': cp.key = optarg; break;
        case 'b': cp.completes_by = optarg; break;
        default: return bad_option("capf", argv);
        }
    }
    if (!positional(argc, argv, 1, "capf", "the device name (SEP<MAC>)"))
        return EXIT_ERROR;
    if (!cp.operation) {
        cli_err("device capf: needs --operation install|delete|troubleshoot|none (see --help)");
        return EXIT_ERROR;
    }
    if (open_cluster(&d, "capf") < 0)
        return EXIT_ERROR;
    ck_err err = {0};
    const char *name = argv[optind];
    int rc = ck_cluster_device_capf(d.c, name, &cp, &err);
    ck_device_row row = {0};
    char msg[256] = "";
    if (rc == 0 && ck_store_get_device(ck_cluster_store(d.c), name, &row, &err) == 0) {
        char day[32] = "";
        if (row.completes_by)
            ck_utc(row.completes_by, CK_UTC_DAY, day, sizeof day);
        if (strcmp(row.operation, "none") == 0)
            snprintf(msg, sizeof msg, "%s: no certificate operation pending.", name);
        else
            snprintf(msg, sizeof msg, "%s: certificate operation %s pending until %s 23:59 UTC%s%s%s.", name,
                     row.operation, day, row.auth_string[0] ? " (authentication string " : "", row.auth_string,
                     row.auth_string[0] ? ")" : "");
    }
    ck_device_row_clear(&row);
    return done(&d, rc, &err, msg[0] ? msg : NULL);
}

static int device_remove(int argc, char **argv)
{
    static const struct option opts[] = {COMMON_OPTS, {0, 0, 0, 0}};
    device_cli d = {0};
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if (!common_opt(&d, ch))
            return bad_option("remove", argv);
    if (!positional(argc, argv, 1, "remove", "the device name (SEP<MAC>)") || open_cluster(&d, "remove") < 0)
        return EXIT_ERROR;
    ck_err err = {0};
    int rc = ck_cluster_device_remove(d.c, argv[optind], &err);
    char msg[128];
    snprintf(msg, sizeof msg, "Device %s removed, with its configuration files.", argv[optind]);
    return done(&d, rc, &err, msg);
}

static int device_import(int argc, char **argv)
{
    static const struct option opts[] = {COMMON_OPTS, {0, 0, 0, 0}};
    device_cli d = {0};
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if (!common_opt(&d, ch))
            return bad_option("import", argv);
    if (!positional(argc, argv, 1, "import", "FILE.csv"))
        return EXIT_ERROR;
    size_t len = 0;
    char *csv = read_text(argv[optind], 64u * 1024 * 1024, &len);
    if (!csv)
        return EXIT_ERROR;
    if (open_cluster(&d, "import") < 0) {
        free(csv);
        return EXIT_ERROR;
    }
    ck_err err = {0};
    size_t added = 0;
    int rc = ck_cluster_device_import_csv(d.c, csv, len, &added, &err);
    free(csv);
    if (rc < 0)
        ck_err_prefix(&err, "%s: nothing imported", argv[optind]);
    char msg[128];
    snprintf(msg, sizeof msg, "%zu device(s) imported.", added);
    return done(&d, rc, &err, msg);
}

static int device_template(int argc, char **argv)
{
    static const struct option opts[] = {COMMON_OPTS, {"reset", no_argument, 0, 'r'}, {0, 0, 0, 0}};
    device_cli d = {0};
    bool reset = false;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (common_opt(&d, ch))
            continue;
        if (ch != 'r')
            return bad_option("template", argv);
        reset = true;
    }
    if (argc - optind > 1 || (reset && argc - optind == 1)) {
        cli_err("device template: FILE.xml or --reset, not both (see --help)");
        return EXIT_ERROR;
    }
    size_t len = 0;
    char *tmpl = NULL;
    if (argc - optind == 1 && !(tmpl = read_text(argv[optind], CK_DEVICE_TEMPLATE_MAX, &len)))
        return EXIT_ERROR;
    if (open_cluster(&d, "template") < 0) {
        free(tmpl);
        return EXIT_ERROR;
    }
    ck_err err = {0};
    int rc;
    if (tmpl || reset) {
        rc = ck_cluster_device_template_set(d.c, tmpl, &err);
        free(tmpl);
        return done(&d, rc, &err,
                    reset ? "The cluster's configuration template is the built-in one again."
                          : "The cluster's configuration template was set; every device's configuration file "
                            "was rebuilt.");
    }
    rc = ck_cluster_device_template_get(d.c, &tmpl, &err);
    if (rc == 0)
        fputs(tmpl, stdout);
    free(tmpl);
    return done(&d, rc, &err, NULL);
}

/* --- show and list --- */

static const char *auth_words(const char *mode)
{
    if (strcmp(mode, "string") == 0)
        return "By Authentication String";
    if (strcmp(mode, "null") == 0)
        return "By Null String";
    if (strcmp(mode, "lsc") == 0)
        return "By Existing Certificate (precedence to LSC)";
    return "By Existing Certificate (precedence to MIC)";
}

static void day_text(int64_t t, char *out, size_t outsz)
{
    if (!t) {
        snprintf(out, outsz, "-");
        return;
    }
    ck_utc(t, CK_UTC_MINUTES, out, outsz);
}

static json_t *device_json(const ck_device_row *r)
{
    return json_pack("{s:s,s:s,s:s,s:b,s:s?,s:{s:s,s:s,s:s?,s:s,s:i,s:I},s:{s:s?,s:I,s:I,s:s?},s:{s:s?,s:I}}",
                     "name", r->name, "model", r->model, "profile", r->profile, "encrypted_config",
                     r->encrypted_config, "template", r->template_xml, "capf", "operation", r->operation,
                     "auth_mode", r->auth_mode, "auth_string", r->auth_string[0] ? r->auth_string : NULL, "key_type",
                     r->key_type, "key_size", r->key_size, "completes_by", (json_int_t)r->completes_by, "lsc",
                     "serial", r->lsc_serial[0] ? r->lsc_serial : NULL, "not_before", (json_int_t)r->lsc_not_before,
                     "not_after", (json_int_t)r->lsc_not_after, "pem", r->lsc_pem, "last_result", "text",
                     r->last_result[0] ? r->last_result : NULL, "at", (json_int_t)r->last_result_at);
}

static void device_text(const ck_device_row *r)
{
    char by[40], nb[40], na[40], at[40];
    day_text(r->completes_by, by, sizeof by);
    day_text(r->lsc_not_before, nb, sizeof nb);
    day_text(r->lsc_not_after, na, sizeof na);
    day_text(r->last_result_at, at, sizeof at);
    printf("Device Name                   : %s\n", r->name);
    printf("Phone Type                    : Cisco %s\n", r->model);
    printf("Device Security Profile       : %s\n", r->profile);
    printf("TFTP Encrypted Config         : %s\n", r->encrypted_config ? "on" : "off");
    printf("Configuration Template        : %s\n", r->template_xml ? "the device's own" : "the cluster's");
    printf("Certificate Operation         : %s\n", r->operation);
    printf("Authentication Mode           : %s\n", auth_words(r->auth_mode));
    printf("Authentication String         : %s\n", r->auth_string[0] ? r->auth_string : "-");
    printf("Key Type and Size             : %s %d\n", strcmp(r->key_type, "ec") == 0 ? "EC" : "RSA", r->key_size);
    printf("Operation Completes By        : %s\n", by);
    if (r->lsc_serial[0])
        printf("LSC                           : serial %s, valid %s to %s\n", r->lsc_serial, nb, na);
    else
        printf("LSC                           : none\n");
    printf("Certificate Operation Status  : %s%s%s%s\n", r->last_result[0] ? r->last_result : "none",
           r->last_result[0] ? " (" : "", r->last_result[0] ? at : "", r->last_result[0] ? ")" : "");
}

static int device_show(int argc, char **argv)
{
    static const struct option opts[] = {COMMON_OPTS, {"json", no_argument, 0, O_JSON}, {0, 0, 0, 0}};
    device_cli d = {0};
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if (!common_opt(&d, ch))
            return bad_option("show", argv);
    if (!positional(argc, argv, 1, "show", "the device name (SEP<MAC>)"))
        return EXIT_ERROR;
    ck_err err = {0};
    if (ck_device_check_name(argv[optind], &err) < 0) {
        cli_err_ck(&err, NULL);
        return EXIT_INVALID;
    }
    if (open_cluster(&d, "show") < 0)
        return EXIT_ERROR;
    ck_device_row r;
    int rc = ck_store_get_device(ck_cluster_store(d.c), argv[optind], &r, &err);
    if (rc == 0) {
        if (d.json) {
            json_t *j = device_json(&r);
            char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            puts(s ? s : "null");
            free(s);
            json_decref(j);
        } else
            device_text(&r);
        ck_device_row_clear(&r);
    }
    return done(&d, rc, &err, NULL);
}

static int device_list(int argc, char **argv)
{
    static const struct option opts[] = {COMMON_OPTS, {"json", no_argument, 0, O_JSON}, {0, 0, 0, 0}};
    device_cli d = {0};
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if (!common_opt(&d, ch))
            return bad_option("list", argv);
    if (!positional(argc, argv, 0, "list", "no device name") || open_cluster(&d, "list") < 0)
        return EXIT_ERROR;
    ck_err err = {0};
    ck_device_row *rows = NULL;
    size_t n = 0;
    int rc = ck_store_list_devices(ck_cluster_store(d.c), &rows, &n, &err);
    if (rc == 0 && d.json) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, device_json(&rows[i]));
        char *s = json_dumps(a, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(s ? s : "[]");
        free(s);
        json_decref(a);
    } else if (rc == 0) {
        printf("%-16s %-6s %-14s %-13s %-17s %s\n", "Device Name", "Model", "Profile", "Operation", "Completes By",
               "LSC Serial");
        for (size_t i = 0; i < n; i++) {
            char by[40];
            day_text(rows[i].completes_by, by, sizeof by);
            by[strcspn(by, " ")] = 0;
            printf("%-16s %-6s %-14s %-13s %-17s %s\n", rows[i].name, rows[i].model, rows[i].profile,
                   rows[i].operation, by, rows[i].lsc_serial[0] ? rows[i].lsc_serial : "-");
        }
        printf("%zu device(s)\n", n);
    }
    ck_device_rows_free(rows, n);
    return done(&d, rc, &err, NULL);
}

int cmd_device(int argc, char **argv)
{
    static const cli_sub subs[] = {{"add", device_add},         {"capf", device_capf},     {"show", device_show},
                                   {"list", device_list},       {"remove", device_remove}, {"import", device_import},
                                   {"template", device_template}};
    return cli_dispatch("device", argc, argv, usage, subs, sizeof subs / sizeof subs[0]);
}
