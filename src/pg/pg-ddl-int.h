/*
 * pg-ddl-int: what the parts of pg-ddl share, and nothing outside it
 * sees: the parsed dump (struct pg_ddl) and its sections, and the entry
 * points of the three passes pg_ddl_parse runs in order:
 *
 *   pg-ddl-split.c   the text into sections (headers, SET lines, lengths)
 *   pg-ddl-owner.c   each section's table, read from its SQL
 *   pg-ddl.c         the owned sections grouped by table (the public API)
 *
 * The tokenizer the owner reader uses has its own header, pg-ddl-tok.h.
 */
#ifndef VAULT_PG_DDL_INT_H
#define VAULT_PG_DDL_INT_H

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pg-ddl.h"

/* A key (schema, name) of an index or sequence mapped to its table. */
struct pg_ddl_link {
	char *schema, *name;
	char *rel_schema, *rel_name;
};

/* A section whose owner is known only through an index or sequence. */
enum pg_ddl_via { PG_DDL_VIA_NONE, PG_DDL_VIA_INDEX, PG_DDL_VIA_SEQ };

struct pg_ddl_sec {
	struct pg_ddl_section pub;
	enum pg_ddl_via via;
	char *via_schema, *via_name;
};

struct pg_ddl {
	char *text;
	size_t len;
	struct pg_ddl_sec *secs;
	size_t n, cap;
	size_t pre_end;		/* the preamble is text[0..pre_end) */
	size_t *order;		/* owned sections by (rel_schema, rel_name, i) */
	size_t norder;
	struct pg_ddl_link *idx, *seq;
	size_t nidx, capidx, nseq, capseq;
	char **setv;		/* the values table_am / tablespace point to */
	size_t nsetv;
};

/* s[0..n) as a NUL-terminated copy (NUL bytes inside are kept), or NULL. */
static inline char *pg_ddl_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/*
 * pg-ddl-split.c: fills d->secs (name, type, schema, owner, off, len) and
 * d->pre_end from d->text.  0, -ENOMEM, or -EBADMSG for an unreadable
 * header (err says which line).  On error the sections read so far stay
 * in d for pg_ddl_free.
 */
int pg_ddl_split(struct pg_ddl *d, struct buf *err);

/*
 * pg-ddl-owner.c: sets rel_schema/rel_name of every section that belongs
 * to a table, directly or through an index or sequence (d->idx, d->seq
 * are filled and sorted on the way).  0 or -ENOMEM; SQL it cannot read
 * just leaves the section without an owner.
 */
int pg_ddl_owner_resolve(struct pg_ddl *d);
/* Frees d->idx and d->seq. */
void pg_ddl_owner_release(struct pg_ddl *d);

#endif
