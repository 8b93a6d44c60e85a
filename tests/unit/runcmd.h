/*
 * runcmd: running a program from a test (psql, pg_dump, ...) with its
 * standard output collected, for the C tests that compare a database
 * with what a client tool shows.  Shared by the pg and dbrestore tests.
 */
#ifndef VAULT_TEST_RUNCMD_H
#define VAULT_TEST_RUNCMD_H

#include "buf.h"

/* Runs argv (PATH lookup) with the "NAME=VALUE" strings of env (NULL or
 * NULL-terminated) added to its environment; its standard output is
 * appended to out (may be NULL).  Returns its exit status, or -1 when
 * it could not run or died of a signal. */
int runcmd(char *const argv[], const char *const env[], struct buf *out);

#endif
