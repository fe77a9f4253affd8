#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint8_t *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n)
        fail_msg("cannot read %s", path);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static const char *env_path(const char *var, const char *fallback, const char *name)
{
    static char buf[4096];
    const char *dir = getenv(var);
    snprintf(buf, sizeof buf, "%s/%s", dir ? dir : fallback, name);
    return buf;
}

const char *tu_vector(const char *name) { return env_path("CTLKIT_VECTORS", "tests/data/vectors", name); }
const char *tu_data(const char *name) { return env_path("CTLKIT_TEST_DATA", "tests/data", name); }

const char *tu_tmpdir(void)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "/tmp/ctlkit-test-XXXXXX");
    if (!mkdtemp(buf))
        fail_msg("mkdtemp failed");
    return buf;
}

void tu_rmtree(const char *path)
{
    char cmd[512];
    if (strncmp(path, "/tmp/ctlkit-test-", 17) != 0)
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", path);
}
