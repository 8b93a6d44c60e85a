/*
 * test-rs-lo: the large objects of a snapshot (rs-lo), against a real
 * server (fx.h: the fixture, and what it needs).
 *
 * The fixture's large object 424242: empty mode refuses a target that
 * has it and changes nothing, merge keeps it, or creates it with the
 * snapshot's bytes when it is missing, clean mode warns that it keeps
 * it; the plan counts them (text and JSON) and says when --table leaves
 * them out; a 1.5 MiB one comes back byte for byte, in pieces; a
 * listing with a name that is not an oid (or has a leading zero, or is
 * past the largest oid), or a count unlike meta.json's, is refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "../tap.h"
#include "fx.h"
#include "json.h"
#include "rs-lo.h"

static void test_large_objects(void)
{
	static const char *const todos[] = { "public.todos", NULL };
	struct rs_log log;
	struct rs_plan *plan = NULL;
	struct rs_input in;
	struct rs_plan_source bad;
	struct buf err = BUF_INIT, a = BUF_INIT, b = BUF_INIT, txt = BUF_INIT;
	struct buf before = BUF_INIT, after = BUF_INIT;
	char dir[512], path[600];
	uint32_t *oids = NULL;
	size_t n = 0;
	int unlisted = 0, r;
	PGconn *cs, *ct;

	cs = fx_connect(fx_db("src"), NULL);
	fx_lo_hex(cs, 424242, &a);

	/* empty mode: an existing large object is a conflict, nothing changes */
	ok(fx_admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", fx_db("lo")) &&
	   fx_exec(fx_db("lo"), "SELECT lo_from_bytea(424242, 'target''s own')"),
	   "an empty database that has large object 424242");
	fx_dump(fx_db("lo"), 0, &before);
	rs_log_init(&log);
	r = fx_restore(fx_db("lo"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, NULL, &log, &plan, &err);
	is_int(r, -EEXIST, "empty mode into a target holding the large object is refused");
	ok(strstr((char *)err.data, "large object 424242 already exists") != NULL,
	   "the refusal names large object 424242");
	ok(plan && rs_plan_text(plan, &fx_src, &txt) == 0 &&
	   strstr((char *)txt.data, "Large objects: 0 to create, 1 kept") &&
	   strstr((char *)txt.data, "CONFLICT: large object 424242 already exists"),
	   "the plan text counts it and lists the conflict");
	fx_dump(fx_db("lo"), 0, &after);
	ok(fx_same_buf(&before, &after), "target unchanged after the refusal");
	rs_plan_free(plan);
	plan = NULL;
	rs_log_release(&log);

	/* merge: the existing one is kept */
	ct = fx_connect(fx_db("lo"), NULL);
	rs_log_init(&log);
	r = fx_restore(fx_db("lo"), NULL, RS_MODE_MERGE, 0, NULL, 0, 0, NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "merge restore into the target holding the large object");
	ok(ct && fx_lo_hex(ct, 424242, &b) && !strcmp((char *)b.data, "7461726765742773206f776e"),
	   "merge keeps the existing large object as it was");
	ok(log.lo && log.lo_kept == 1 && log.nlo_created == 0 && log.lo_verified == 0,
	   "log: one large object kept, none created");
	rs_log_release(&log);

	/* merge: a missing one is created; the plan counts it */
	ok(ct && fx_exec(fx_db("lo"), "SELECT lo_unlink(424242)"), "the large object removed");
	rs_log_init(&log);
	buf_reset(&txt);
	r = fx_restore(fx_db("lo"), NULL, RS_MODE_MERGE, 0, NULL, 0, 1, NULL, NULL, &log, &plan, &err);
	is_int(r, 0, "merge dry run");
	ok(plan && rs_plan_text(plan, &fx_src, &txt) == 0 &&
	   strstr((char *)txt.data, "Large objects: 1 to create, 0 kept\n"), "plan text: 1 to create, 0 kept");
	buf_reset(&txt);
	{
		struct json *doc = NULL;
		const struct json *lo;
		int64_t v = -1;

		ok(plan && rs_plan_json(plan, &fx_src, NULL, &txt) == 0 &&
		   json_parse(&doc, txt.data, txt.len, NULL) == 0 &&
		   (lo = json_get(doc, "large_objects")) &&
		   json_int(json_get(lo, "create"), &v) == 0 && v == 1 &&
		   json_int(json_get(lo, "keep"), &v) == 0 && v == 0 &&
		   json_bool(json_get(lo, "selected")) == 1,
		   "plan JSON: large_objects create 1, keep 0, selected");
		json_free(doc);
	}
	rs_plan_free(plan);
	plan = NULL;
	rs_log_release(&log);
	rs_log_init(&log);
	r = fx_restore(fx_db("lo"), NULL, RS_MODE_MERGE, 0, NULL, 0, 0, NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "merge restore");
	ok(ct && fx_lo_hex(ct, 424242, &b) && b.len && fx_same_buf(&a, &b),
	   "merge creates the missing large object with the snapshot's bytes");
	ok(log.nlo_created == 1 && log.lo_verified == 1, "log: created and verified");
	rs_log_release(&log);

	/* clean: existing ones are kept, and the plan says so */
	ok(fx_exec(fx_db("lo"), "SELECT lo_unlink(424242); SELECT lo_from_bytea(424242, 'changed')"),
	   "the large object changed in the target");
	rs_log_init(&log);
	buf_reset(&txt);
	fx_restore(fx_db("lo"), NULL, RS_MODE_CLEAN, 0, NULL, 0, 1, NULL, NULL, &log, &plan, &err);
	ok(plan && rs_plan_text(plan, &fx_src, &txt) == 0 &&
	   strstr((char *)txt.data, "Warning: clean mode keeps the 1 large objects that already exist in the target (424242)") &&
	   strstr((char *)txt.data, "safety snapshot does not capture large objects"),
	   "clean plan warns that the existing large object is kept");
	rs_plan_free(plan);
	plan = NULL;
	rs_log_release(&log);

	/* narrowed to a table: not selected */
	rs_log_init(&log);
	buf_reset(&txt);
	r = fx_restore(fx_db("lo"), NULL, RS_MODE_MERGE, 0, todos, 0, 1, NULL, NULL, &log, &plan, &err);
	ok(r == 0 && plan && !plan->lo_selected && rs_plan_text(plan, &fx_src, &txt) == 0 &&
	   strstr((char *)txt.data, "Large objects: 1 in the snapshot, not selected"),
	   "--table leaves the large objects out, and the plan says so");
	rs_plan_free(plan);
	plan = NULL;
	rs_log_release(&log);
	PQfinish(ct);

	/* a large object of several pieces, streamed and verified */
	if (fx_tree_copy("big", dir, sizeof(dir))) {
		static unsigned char big[1536 * 1024 + 7];
		PGresult *res = NULL;

		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (unsigned char)((i * 7919u) >> 3);
		snprintf(path, sizeof(path), "%s/db/large_objects/424242", dir);
		ok(fx_write_file(path, big, sizeof(big)), "a 1.5 MiB large object in a copy of the tree");
		rs_input_dir_init(&in, dir);
		ok(fx_admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", fx_db("lobig")),
		   "an empty database");
		rs_log_init(&log);
		r = fx_restore(fx_db("lobig"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, &in, &log, NULL, &err);
		is_int(r, 0, "restore with the big large object");
		ct = fx_connect(fx_db("lobig"), NULL);
		if (ct)
			res = PQexecParams(ct, "SELECT lo_get(424242)", 0, NULL, NULL, NULL, NULL, 1);
		ok(res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		   PQgetlength(res, 0, 0) == (int)sizeof(big) &&
		   !memcmp(PQgetvalue(res, 0, 0), big, sizeof(big)),
		   "its bytes are identical");
		ok(log.lo_verified == 1, "and verified");
		PQclear(res);
		PQfinish(ct);
		rs_log_release(&log);
		rs_input_dir_release(&in);
	} else {
		ok(0, "copy of the tree");
	}

	/* damaged listings */
	if (fx_tree_copy("bad", dir, sizeof(dir))) {
		snprintf(path, sizeof(path), "%s/db/large_objects/abc", dir);
		ok(fx_write_file(path, "x", 1), "a file named abc among the large objects");
		rs_input_dir_init(&in, dir);
		buf_reset(&err);
		r = rs_plan_source_load(&bad, &in, NULL, &err);
		is_int(r, -EBADMSG, "the snapshot is refused as damaged");
		ok(strstr((char *)err.data, "large_objects/abc") != NULL, "the error names it: %s",
		   (char *)err.data);
		rs_plan_source_release(&bad);
		unlink(path);
		snprintf(path, sizeof(path), "%s/db/large_objects/4242", dir);
		fx_write_file(path, "y", 1);
		buf_reset(&err);
		r = rs_lo_list(&in, "db", 1, &oids, &n, &unlisted, &err);
		ok(r == -EBADMSG && strstr((char *)err.data, "holds 2 large objects, meta.json says 1"),
		   "a count that differs from meta.json is refused");
		unlink(path);
		snprintf(path, sizeof(path), "%s/db/large_objects/04242", dir);
		fx_write_file(path, "y", 1);
		buf_reset(&err);
		r = rs_lo_list(&in, "db", 2, &oids, &n, &unlisted, &err);
		ok(r == -EBADMSG && strstr((char *)err.data, "large_objects/04242"),
		   "a name with a leading zero is refused");
		unlink(path);
		buf_reset(&err);
		r = rs_lo_list(&in, "db", 1, &oids, &n, &unlisted, &err);
		ok(r == 0 && n == 1 && oids[0] == 424242, "the intact listing reads back");
		free(oids);
		oids = NULL;
		snprintf(path, sizeof(path), "%s/db/large_objects/4294967296", dir);
		fx_write_file(path, "y", 1);
		buf_reset(&err);
		r = rs_lo_list(&in, "db", 2, &oids, &n, &unlisted, &err);
		ok(r == -EBADMSG && strstr((char *)err.data, "4294967296"),
		   "a name past the largest oid is refused");
		unlink(path);
		rs_input_dir_release(&in);
		snprintf(path, sizeof(path), "rm -rf '%s'", dir);
		if (system(path) != 0)
			diag("cannot remove %s", dir);
	} else {
		ok(0, "copy of the tree");
	}
	snprintf(path, sizeof(path), "rm -rf '%s-big'", fx_tree);
	if (system(path) != 0)
		diag("cannot remove %s-big", fx_tree);
	PQfinish(cs);
	buf_release(&err);
	buf_release(&a);
	buf_release(&b);
	buf_release(&txt);
	buf_release(&before);
	buf_release(&after);
}

static void tests(void)
{
	test_large_objects();
}

int main(void)
{
	static const struct fx_tap tap = { ok, skip };
	static const char *const dbs[] = { "lo", "lobig", NULL };

	fx_main(&tap, tests, dbs);
	return done_testing();
}
