/* Small helpers shared by the unit test programs. */
#ifndef CTLKIT_TESTUTIL_H
#define CTLKIT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Reads a whole file (fails the test if it cannot); malloc'd. */
uint8_t *tu_read_file(const char *path, size_t *len);
/* Path of a file in tests/data/vectors (static buffer). */
const char *tu_vector(const char *name);
/* Path of a file in tests/data (static buffer). */
const char *tu_data(const char *name);
/* A fresh temporary directory (static buffer); removed by tu_rmtree. */
const char *tu_tmpdir(void);
void tu_rmtree(const char *path);

#endif
