/*
 * test-rs-order: foreign-key load order and cycle detection.
 */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "pg-ddl.h"
#include "rs-order.h"

static long pos_of(const struct rs_order *o, const char *schema,
		   const char *name)
{
	long n = rs_order_find(o, schema, name);

	for (size_t i = 0; n >= 0 && i < o->nnodes; i++)
		if (o->order[i] == (size_t)n)
			return (long)i;
	return -1;
}

static void test_parse(void)
{
	struct buf cs = BUF_INIT, cn = BUF_INIT, con = BUF_INIT, ps = BUF_INIT,
		   pn = BUF_INIT;
	int def = -1;
	static const char a[] =
		"ALTER TABLE ONLY \"Sales & Ops\".lines\n"
		"    ADD CONSTRAINT lines_order_no_fkey FOREIGN KEY (order_no) "
		"REFERENCES \"Sales & Ops\".\"Orders\"(order_no);";
	static const char b[] =
		"ALTER TABLE ONLY public.teams\n    ADD CONSTRAINT \"Captain\" FOREIGN KEY (captain_id) "
		"REFERENCES public.players(id) DEFERRABLE INITIALLY DEFERRED;";
	static const char c[] =
		"ALTER TABLE ONLY public.t ADD CONSTRAINT t_fk FOREIGN KEY (a, b) "
		"REFERENCES public.u(a, b) NOT DEFERRABLE;";

	ok(rs_order_parse_fk(a, strlen(a), &cs, &cn, &con, &ps, &pn, &def) == 0 &&
	   !strcmp((char *)cs.data, "Sales & Ops") && !strcmp((char *)cn.data, "lines") &&
	   !strcmp((char *)con.data, "lines_order_no_fkey") &&
	   !strcmp((char *)ps.data, "Sales & Ops") && !strcmp((char *)pn.data, "Orders") &&
	   def == 0, "quoted FK parsed, not deferrable");
	ok(rs_order_parse_fk(b, strlen(b), &cs, &cn, &con, &ps, &pn, &def) == 0 &&
	   !strcmp((char *)con.data, "Captain") && !strcmp((char *)pn.data, "players") &&
	   def == 1, "DEFERRABLE INITIALLY DEFERRED");
	ok(rs_order_parse_fk(c, strlen(c), &cs, &cn, &con, &ps, &pn, &def) == 0 && def == 0,
	   "NOT DEFERRABLE");
	ok(rs_order_parse_fk("ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);",
			     60, &cs, &cn, &con, &ps, &pn, &def) < 0,
	   "a primary key is not an FK");
	buf_release(&cs);
	buf_release(&cn);
	buf_release(&con);
	buf_release(&ps);
	buf_release(&pn);
}

/* The FK sections of the Supabase-shaped fixture, as pg_dump writes them. */
static const char dump[] =
	"--\n-- Name: lines lines_order_no_fkey; Type: FK CONSTRAINT; Schema: Sales & Ops; Owner: postgres\n--\n\n"
	"ALTER TABLE ONLY \"Sales & Ops\".lines\n    ADD CONSTRAINT lines_order_no_fkey FOREIGN KEY (order_no) REFERENCES \"Sales & Ops\".\"Orders\"(order_no);\n\n\n"
	"--\n-- Name: identities identities_user_id_fkey; Type: FK CONSTRAINT; Schema: auth; Owner: postgres\n--\n\n"
	"ALTER TABLE ONLY auth.identities\n    ADD CONSTRAINT identities_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE;\n\n\n"
	"--\n-- Name: players players_team_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres\n--\n\n"
	"ALTER TABLE ONLY public.players\n    ADD CONSTRAINT players_team_fkey FOREIGN KEY (team_id) REFERENCES public.teams(id) DEFERRABLE INITIALLY DEFERRED;\n\n\n"
	"--\n-- Name: profiles profiles_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres\n--\n\n"
	"ALTER TABLE ONLY public.profiles\n    ADD CONSTRAINT profiles_id_fkey FOREIGN KEY (id) REFERENCES auth.users(id) ON DELETE CASCADE;\n\n\n"
	"--\n-- Name: teams teams_captain_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres\n--\n\n"
	"ALTER TABLE ONLY public.teams\n    ADD CONSTRAINT teams_captain_fkey FOREIGN KEY (captain_id) REFERENCES public.players(id) DEFERRABLE INITIALLY DEFERRED;\n\n\n"
	"--\n-- Name: todos todos_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres\n--\n\n"
	"ALTER TABLE ONLY public.todos\n    ADD CONSTRAINT todos_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users(id);\n\n\n"
	"--\n-- Name: objects objects_bucket_id_fkey; Type: FK CONSTRAINT; Schema: storage; Owner: postgres\n--\n\n"
	"ALTER TABLE ONLY storage.objects\n    ADD CONSTRAINT objects_bucket_id_fkey FOREIGN KEY (bucket_id) REFERENCES storage.buckets(id);\n\n\n"
	"--\n-- Name: buckets buckets_owner_fkey; Type: FK CONSTRAINT; Schema: storage; Owner: postgres\n--\n\n"
	"ALTER TABLE ONLY storage.buckets\n    ADD CONSTRAINT buckets_owner_fkey FOREIGN KEY (owner) REFERENCES auth.users(id);\n\n\n"
	"--\n-- PostgreSQL database dump complete\n--\n\n";

static void test_fixture(void)
{
	/* alphabetical, like meta.json: children before parents on purpose */
	static const char *const tables[][2] = {
		{ "Sales & Ops", "Orders" }, { "Sales & Ops", "lines" },
		{ "auth", "identities" }, { "auth", "users" },
		{ "public", "players" }, { "public", "profiles" },
		{ "public", "teams" }, { "public", "todos" },
		{ "storage", "buckets" }, { "storage", "objects" },
		{ "public", "event_log" },
	};
	struct rs_order o;
	struct pg_ddl *d = NULL;
	struct buf desc = BUF_INIT;
	const size_t n = sizeof(tables) / sizeof(tables[0]);
	int all_before = 1;

	rs_order_init(&o);
	for (size_t i = 0; i < n; i++)
		rs_order_node(&o, tables[i][0], tables[i][1]);
	is_int(rs_order_node(&o, "auth", "users"), 3, "duplicate node returns its index");
	ok(pg_ddl_parse(&d, dump, strlen(dump), NULL) == 0, "FK sections parse");
	ok(rs_order_add_ddl(&o, d) == 0, "edges from the DDL");
	is_int(o.nedges, 8, "eight foreign keys between selected tables");
	ok(rs_order_solve(&o) == 0, "solved");
	for (size_t e = 0; e < o.nedges; e++) {
		const struct rs_order_edge *ed = &o.edges[e];
		long c = pos_of(&o, o.nodes[ed->child].schema, o.nodes[ed->child].name);
		long p = pos_of(&o, o.nodes[ed->parent].schema, o.nodes[ed->parent].name);

		if (o.cycle_of[ed->child] && o.cycle_of[ed->child] == o.cycle_of[ed->parent])
			continue;
		if (p > c) {
			diag("%s loads after %s", o.nodes[ed->parent].name,
			     o.nodes[ed->child].name);
			all_before = 0;
		}
	}
	ok(all_before, "every referenced table loads before its referencing tables");
	ok(pos_of(&o, "auth", "users") < pos_of(&o, "storage", "buckets") &&
	   pos_of(&o, "storage", "buckets") < pos_of(&o, "storage", "objects"),
	   "users, then buckets, then objects");
	is_int(pos_of(&o, "Sales & Ops", "Orders"), 0, "ties keep input order: Orders first");
	is_int(o.ncycles, 1, "one cycle");
	ok(o.ncycles == 1 && o.cycles[0].n == 2 && o.cycles[0].nedges == 2 &&
	   o.cycles[0].deferrable, "teams <-> players, both deferrable");
	ok(o.cycle_of[rs_order_find(&o, "public", "teams")] == 1 &&
	   o.cycle_of[rs_order_find(&o, "public", "players")] == 1 &&
	   o.cycle_of[rs_order_find(&o, "public", "todos")] == 0, "cycle membership");
	ok(rs_order_describe_cycle(&o, 0, &desc) == 0 &&
	   strstr((char *)desc.data, "public.players -> public.teams (players_team_fkey, deferrable)") &&
	   strstr((char *)desc.data, "teams_captain_fkey"), "cycle described with its constraints");
	ok(labs(pos_of(&o, "public", "teams") - pos_of(&o, "public", "players")) == 1,
	   "a cycle's tables load together");

	/* edges to tables outside the selection do not count */
	ok(rs_order_edge(&o, "public", "todos", "public", "nope", "x", 0) == 0 &&
	   o.nedges == 8, "edge to an unselected table ignored");
	/* a self reference is not a cycle; a non-deferrable cycle is flagged */
	rs_order_node(&o, "public", "tree");
	rs_order_node(&o, "x", "a");
	rs_order_node(&o, "x", "b");
	rs_order_node(&o, "x", "c");
	rs_order_edge(&o, "public", "tree", "public", "tree", "tree_parent_fkey", 0);
	rs_order_edge(&o, "x", "a", "x", "b", "a_b", 1);
	rs_order_edge(&o, "x", "b", "x", "c", "b_c", 0);
	rs_order_edge(&o, "x", "c", "x", "a", "c_a", 1);
	ok(rs_order_solve(&o) == 0 && o.ncycles == 2, "re-solved: two cycles");
	ok(o.ncycles == 2 && o.cycles[1].n == 3 && !o.cycles[1].deferrable,
	   "three-table cycle with one non-deferrable key");
	ok(!o.cycle_of[rs_order_find(&o, "public", "tree")], "self reference is no cycle");
	buf_release(&desc);
	pg_ddl_free(d);
	rs_order_release(&o);
	rs_order_release(&o);	/* release twice is harmless */
}

int main(void)
{
	test_parse();
	test_fixture();
	return done_testing();
}
