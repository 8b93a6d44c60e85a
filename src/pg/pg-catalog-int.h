/*
 * pg-catalog-int: what the parts of pg-catalog share and nothing outside
 * sees.  pg-catalog.c holds these; pg-catalog-seq.c and pg-catalog-lo.c
 * stand on them (and pg-catalog.c on neither).
 */
#ifndef VAULT_PG_CATALOG_INT_H
#define VAULT_PG_CATALOG_INT_H

#include "pg-catalog.h"

/* An extension's member (pg_depend deptype 'e'): cls is the catalog,
 * col the object's oid column. */
#define PG_CATALOG_EXT_MEMBER(cls, col) \
	"EXISTS (SELECT 1 FROM pg_catalog.pg_depend d" \
	" WHERE d.classid = '" cls "'::pg_catalog.regclass" \
	" AND d.objid = " col " AND d.deptype = 'e')"

/* *dst = strdup(s): 0 or -ENOMEM. */
int pg_catalog_strdup(char **dst, const char *s);
/* 1 when the capture takes schema (cat->schemas is loaded). */
int pg_catalog_captured(const struct pg_catalog *cat, const char *schema);
/* 1 when an extension's configuration in schema is captured: the schema
 * is, or it was left out only for holding extension objects. */
int pg_catalog_ext_schema(const struct pg_catalog *cat, const char *schema);

#endif
