/*
 * test-rs-meta: what meta.json says beyond its tables, read back: an
 * extension's configuration tables (with their extension and filter)
 * and sequences, the materialized views left unpopulated; a document
 * without them (an older snapshot's) still reads; malformed members are
 * refused; the COPY query verification recomputes reads a
 * configuration table through its filter; and rs_meta_find's index
 * answers as a search of the array would.
 */
#include <errno.h>
#include <string.h>

#include "../tap.h"
#include "rs-meta.h"
#include "rs-plan.h"

#define HEAD \
	"{\"format\": \"vault-pg-1\", \"source\": \"postgres://u:***@h:5432/db\"," \
	" \"server_version\": \"15.20\", \"server_version_num\": 150020," \
	" \"database\": \"db\", \"encoding\": \"UTF8\"," \
	" \"copy_settings\": {\"DateStyle\": \"ISO\"}," \
	" \"schemas\": {\"captured\": [\"public\"], \"skipped\": []},"
#define TABLE(s, n, extra) \
	"{\"schema\": \"" s "\", \"name\": \"" n "\", \"path\": \"db/" s "/tables/" n "\"," \
	" \"kind\": \"table\", \"partition\": false, \"primary_key\": [\"k\"]," \
	" \"columns\": [\"k\", \"v\"], \"rows\": 2, \"bytes\": 8," \
	" \"xxh3_128\": \"00112233445566778899aabbccddeeff\"" extra "}"
#define TAIL \
	" \"large_objects\": 0," \
	" \"requirements\": {\"extensions\": [], \"roles\": []}, \"warnings\": []}"

static const char doc[] = HEAD
	" \"tables\": [" TABLE("public", "t", "") "],"
	" \"extension_tables\": ["
	TABLE("cron", "job", ", \"extension\": \"pg_cron\", \"condition\": null") ", "
	TABLE("x", "cfg", ", \"extension\": \"x\", \"condition\": \"WHERE NOT standard\"") "],"
	" \"extension_sequences\": [{\"extension\": \"pg_cron\", \"schema\": \"cron\", \"name\": \"jobid_seq\"}],"
	" \"unpopulated_matviews\": [{\"schema\": \"public\", \"name\": \"mv\"}],"
	" \"tables_left_out\": [{\"schema\": \"public\", \"name\": \"big\"}],"
	TAIL;

/* an older snapshot's document: none of the members above */
static const char old_doc[] = HEAD " \"tables\": [" TABLE("public", "t", "") "]," TAIL;

static int refused(const char *d, const char *why)
{
	struct rs_meta *m = NULL;
	struct buf err = BUF_INIT;
	int r = rs_meta_parse(&m, d, strlen(d), &err);
	int good = r == -EBADMSG && m == NULL && strstr((char *)err.data, why);

	if (!good)
		diag("parse gave %d: %s", r, (char *)err.data);
	buf_release(&err);
	rs_meta_free(m);
	return good;
}

static void test_members(void)
{
	struct rs_meta *m = NULL;
	struct buf err = BUF_INIT;
	int r = rs_meta_parse(&m, doc, sizeof(doc) - 1, &err);

	is_int(r, 0, "a document with extension tables, sequences, unpopulated views %s",
	       (char *)err.data);
	if (r < 0)
		return;
	is_int(m->ntables, 3, "the extension tables come after the tables");
	ok(!m->tables[0].extension && !m->tables[0].condition, "an ordinary table has no extension");
	ok(!strcmp(m->tables[1].extension, "pg_cron") && !m->tables[1].condition,
	   "cron.job: pg_cron's, no filter");
	ok(!strcmp(m->tables[2].extension, "x") &&
	   !strcmp(m->tables[2].condition, "WHERE NOT standard"), "x.cfg: x's, with its filter");
	ok(rs_meta_find(m, "cron", "job") == &m->tables[1], "found by name like any table");
	ok(m->next_sequences == 1 && !strcmp(m->ext_sequences[0].extension, "pg_cron") &&
	   !strcmp(m->ext_sequences[0].schema, "cron") &&
	   !strcmp(m->ext_sequences[0].name, "jobid_seq"), "the configuration sequence");
	ok(rs_meta_unpopulated(m, "public", "mv") && !rs_meta_unpopulated(m, "public", "t") &&
	   !rs_meta_unpopulated(m, "other", "mv"), "public.mv was unpopulated, nothing else");
	ok(m->nleft_out == 1 && rs_meta_left_out(m, "public", "big") &&
	   !rs_meta_left_out(m, "public", "t"), "public.big was left out by --table, nothing else");
	rs_meta_free(m);
	m = NULL;
	r = rs_meta_parse(&m, old_doc, sizeof(old_doc) - 1, &err);
	ok(r == 0 && m->ntables == 1 && m->next_sequences == 0 && m->nunpopulated == 0 &&
	   m->nleft_out == 0 &&
	   !rs_meta_unpopulated(m, "public", "mv"), "an older document reads, with none of them");
	rs_meta_free(m);
	buf_release(&err);

	ok(refused(HEAD " \"tables\": [], \"extension_tables\": {}," TAIL,
		   "\"extension_tables\" is not a list"), "extension_tables not a list: refused");
	ok(refused(HEAD " \"tables\": [], \"extension_tables\": [" TABLE("x", "c", "") "]," TAIL,
		   "\"extension\" is missing"), "an extension table without its extension: refused");
	ok(refused(HEAD " \"tables\": [], \"extension_sequences\": [{\"schema\": \"s\", \"name\": \"q\"}]," TAIL,
		   "\"extension\" is missing"), "a configuration sequence without its extension: refused");
	ok(refused(HEAD " \"tables\": [], \"unpopulated_matviews\": [\"public.mv\"]," TAIL,
		   "\"unpopulated_matviews\" is not a list of relations"),
	   "unpopulated_matviews of strings: refused");
	ok(refused(HEAD " \"tables\": [], \"tables_left_out\": {\"schema\": \"s\"}," TAIL,
		   "\"tables_left_out\" is not a list of tables"), "tables_left_out not a list: refused");
	ok(refused(HEAD " \"tables\": [], \"tables_left_out\": [{\"schema\": \"s\", \"name\": 7}]," TAIL,
		   "\"name\""), "a left-out table with a numeric name: refused");
}

static void test_copy_sql(void)
{
	struct rs_meta *m = NULL;
	struct buf sql = BUF_INIT;

	if (rs_meta_parse(&m, doc, sizeof(doc) - 1, NULL) < 0) {
		ok(0, "parse for the COPY queries");
		return;
	}
	ok(rs_plan_copy_sql(&m->tables[2], NULL, NULL, &sql) == 0 &&
	   !strcmp((char *)sql.data, "COPY (SELECT \"k\", \"v\" FROM ONLY \"x\".\"cfg\" WHERE NOT standard"
		   " ORDER BY \"k\") TO STDOUT"), "a configuration table is read through its filter");
	buf_reset(&sql);
	ok(rs_plan_copy_sql(&m->tables[2], NULL, "(k) IN (SELECT k FROM tmp)", &sql) == 0 &&
	   !strcmp((char *)sql.data, "COPY (SELECT \"k\", \"v\" FROM (SELECT * FROM ONLY \"x\".\"cfg\""
		   " WHERE NOT standard) AS vault_filtered WHERE (k) IN (SELECT k FROM tmp)"
		   " ORDER BY \"k\") TO STDOUT"), "with a WHERE of its own: the filter in a subquery");
	buf_reset(&sql);
	ok(rs_plan_copy_sql(&m->tables[1], NULL, NULL, &sql) == 0 &&
	   !strcmp((char *)sql.data, "COPY (SELECT \"k\", \"v\" FROM ONLY \"cron\".\"job\""
		   " ORDER BY \"k\") TO STDOUT"), "no filter: as any table");
	buf_release(&sql);
	rs_meta_free(m);
}

/* rs_meta_find over a document of many tables in no order of theirs,
 * one name twice (a table, then an extension's): every name found, the
 * first of the two, names that are not there not found */
static void test_find(void)
{
	struct buf d = BUF_INIT, err = BUF_INIT;
	struct rs_meta *m = NULL;
	int r, good = 1;

	buf_addstr(&d, HEAD " \"tables\": [");
	for (int i = 0; i < 300; i++)
		buf_addf(&d, "%s" TABLE("s%d", "t%d", ""), i ? ", " : "", (i * 37) % 300 % 7,
			 (i * 37) % 300, (i * 37) % 300 % 7, (i * 37) % 300);
	buf_addstr(&d, "], \"extension_tables\": ["
		   TABLE("s3", "t10", ", \"extension\": \"x\", \"condition\": null") "],");
	buf_addstr(&d, TAIL);
	r = rs_meta_parse(&m, (char *)d.data, d.len, &err);
	is_int(r, 0, "a document of 301 tables %s", (char *)err.data);
	for (size_t i = 0; r == 0 && i < m->ntables; i++) {
		const struct rs_meta_table *t = rs_meta_find(m, m->tables[i].schema, m->tables[i].name);
		size_t first = i;

		for (size_t k = 0; k < i; k++)
			if (!strcmp(m->tables[k].schema, m->tables[i].schema) &&
			    !strcmp(m->tables[k].name, m->tables[i].name)) {
				first = k;
				break;
			}
		if (t != &m->tables[first]) {
			diag("%s.%s: found %p, the array's is %p", m->tables[i].schema,
			     m->tables[i].name, (void *)t, (void *)&m->tables[first]);
			good = 0;
		}
	}
	ok(r == 0 && good, "every table found by name, the first of two equal ones");
	ok(r == 0 && m->tables[300].extension && rs_meta_find(m, "s3", "t10") != &m->tables[300],
	   "s3.t10 twice: the table, not the extension's");
	ok(r == 0 && !rs_meta_find(m, "s0", "t1") && !rs_meta_find(m, "s9", "t0") &&
	   !rs_meta_find(m, "", "") && !rs_meta_find(m, "s6", "t300"),
	   "names that are not there are not found");
	rs_meta_free(m);
	buf_release(&d);
	buf_release(&err);
}

int main(void)
{
	test_members();
	test_find();
	test_copy_sql();
	return done_testing();
}
