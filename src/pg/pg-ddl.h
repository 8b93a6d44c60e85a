/*
 * pg-ddl: splits the plain-text output of `pg_dump --schema-only` into
 * per-object sections and picks out the sections that belong to one
 * table.  Pure: no connection, no I/O.
 *
 * pg_dump introduces every TOC entry with a comment block
 *
 *   --
 *   -- Name: users users_pkey; Type: CONSTRAINT; Schema: auth; Owner: postgres
 *   --
 *
 * A section runs from that block to the next one (the last section stops
 * at pg_dump's closing "-- PostgreSQL database dump complete" comment).
 * The `SET default_tablespace` / `SET default_table_access_method` lines
 * pg_dump writes just before an entry belong to that entry's section.
 *
 * The header's Name is not enough to find the owning table: pg_dump
 * flattens newlines in it and writes "table constraint" with a space, so
 * names with spaces are ambiguous.  The owner is therefore read from the
 * section's SQL, whose identifiers pg_dump quotes exactly: "CREATE TABLE
 * s.t", "ALTER TABLE ONLY s.t", "CREATE INDEX i ON s.t", "CREATE TRIGGER
 * x ... ON s.t", "GRANT ... ON TABLE s.t", "COMMENT ON COLUMN s.t.c" ...
 * Sequences owned by a table (serial, identity) and indexes of its
 * constraints or partitions are followed to that table, so a table's
 * sections are: TABLE, TABLE ATTACH, DEFAULT, SEQUENCE (+ OWNED BY),
 * CONSTRAINT, CHECK CONSTRAINT, FK CONSTRAINT, INDEX, INDEX ATTACH,
 * TRIGGER, POLICY, ROW SECURITY, RULE, STATISTICS, COMMENT, ACL and
 * SECURITY LABEL entries on any of those.
 */
#ifndef VAULT_PG_DDL_H
#define VAULT_PG_DDL_H

#include <stddef.h>
#include "buf.h"

struct pg_ddl_section {
	/* from the header, as pg_dump printed them ("-" becomes "") */
	const char *name;
	const char *type;	/* "TABLE", "FK CONSTRAINT", ... */
	const char *schema;
	const char *owner;
	/* the section's bytes (header comment included) in pg_ddl_text() */
	size_t off, len;
	/* the table the section belongs to, or NULL for none */
	const char *rel_schema;
	const char *rel_name;
	/* default_table_access_method (TABLE and MATERIALIZED VIEW
	 * sections) and default_tablespace (those and INDEX, CONSTRAINT) as
	 * pg_dump's SET lines left them for this section: its own, else an
	 * earlier section's or the preamble's (pg_dump writes one only when
	 * the value changes, so a section run alone needs them); the value
	 * as pg_dump quoted it ("heap2", "''"); NULL for other sections and
	 * when no SET line came before */
	const char *table_am;
	const char *tablespace;
};

struct pg_ddl;

/*
 * Parses dump[0..len) (copied; the caller keeps its buffer).  Text without
 * any section header parses to zero sections.  0, -ENOMEM, or -EBADMSG
 * for a header line that cannot be read (err says which line).
 */
int pg_ddl_parse(struct pg_ddl **d, const char *dump, size_t len,
		 struct buf *err);
void pg_ddl_free(struct pg_ddl *d);

/*
 * pg_dump 15.14 and later open their output with "\restrict KEY" (after
 * the header comment) and close it with "\unrestrict KEY", a random key
 * per run: psql meta-commands that guard a psql session, which nothing
 * running the dump over libpq needs, and which would make two dumps of
 * one schema differ.  Removes both lines (and the blank line pg_dump
 * puts with each) from dump in place, so the text is what an older
 * pg_dump writes; lines elsewhere are left alone.  Returns how many it
 * removed (0, 1 or 2).
 */
int pg_ddl_unrestrict(struct buf *dump);

const char *pg_ddl_text(const struct pg_ddl *d);
size_t pg_ddl_count(const struct pg_ddl *d);
/* NULL when i is out of range. */
const struct pg_ddl_section *pg_ddl_get(const struct pg_ddl *d, size_t i);

/* The session settings at the top of the dump (its SET and set_config
 * lines), which every piece needs to load the same way on its own. */
int pg_ddl_preamble(const struct pg_ddl *d, struct buf *out);

/*
 * Appends the preamble and then, in dump order, every section belonging
 * to schema.table.  Returns the number of sections appended (0 when the
 * dump has nothing for that table) or -ENOMEM.
 */
int pg_ddl_table_sql(const struct pg_ddl *d, const char *schema,
		     const char *table, struct buf *out);

#endif
