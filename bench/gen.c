/*
 * gen: a deterministic pg_dump-style text file for bench/run.
 *
 *   gen [-v 1|2] [-m MB] [-s SEED] > dump.sql      (stats on stderr)
 *
 * The dump has a pg_dump preamble and schema, then one COPY block per
 * table (customers, orders, events, notes) with rows sorted by id:
 * bigint ids, UUIDs, timestamps, text with COPY escapes, \N nulls and
 * jsonb; then constraints and indexes, as pg_dump writes them.  Every
 * row is a pure function of (seed, table, id, version), so version 2
 * differs from version 1 only where the change model says so.  -m sizes
 * version 1 (version 2 keeps the same id range and is about as large).
 *
 * Version 2 change model (about 1% of the rows; see CHANGE_* below):
 *   - in-place updates of scattered rows (the row keeps its id, uuid
 *     and created_at; mutable columns and updated_at change): customers
 *     1.2%, orders 1.2% (status moves on), notes 1%, events 0.2%;
 *   - deletions of scattered rows: 0.05% of every table;
 *   - new rows appended at the end of a table (ids after the last):
 *     events +0.5%, orders +0.3%, customers +0.2%.
 * That is about 1.07% of the rows (0.66% updated, 0.05% deleted, 0.36%
 * appended); the exact counts are printed on stderr.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GEN_ROWMAX 4096

/* Change rates in parts per 100000 rows. */
struct gen_rates {
	unsigned update, delete, append;
};

struct gen_table {
	const char *name;
	const char *columns;
	unsigned share;			/* percent of the file */
	struct gen_rates chg;
	size_t (*row)(char *out, uint64_t seed, uint64_t id, int upd);
};

struct gen_out {
	char *buf;
	size_t len, cap;
	uint64_t total;
};

static uint64_t gen_seed = 0x5eed;

/* ---- randomness: splitmix64 keyed by (table, id, stream) ------------ */
static uint64_t gen_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

struct gen_rng {
	uint64_t s;
};

static void gen_rng_init(struct gen_rng *r, uint64_t seed, uint64_t id,
			 uint64_t stream)
{
	r->s = gen_mix(seed ^ gen_mix(id ^ gen_mix(stream)));
}

static uint64_t gen_next(struct gen_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ull;
	return gen_mix(r->s);
}

static unsigned gen_below(struct gen_rng *r, unsigned n)
{
	return (unsigned)(gen_next(r) % n);
}

/* ---- vocabularies -------------------------------------------------------- */
static const char *const first_names[] = {
	"Anna", "Ben", "Carla", "David", "Eva", "Felix", "Greta", "Hugo",
	"Ida", "Jonas", "Klara", "Lukas", "Mia", "Noah", "Olga", "Paul",
	"Rosa", "Simon", "Tara", "Uwe", "Vera", "Willem", "Yara", "Zoe",
	"Aiko", "Bruno", "Chloe", "Diego", "Elif", "Farid", "Giulia", "Hana",
};
static const char *const last_names[] = {
	"Meyer", "Schmidt", "Novak", "Rossi", "Garcia", "Dubois", "Jensen",
	"Kowalski", "Nagy", "Silva", "Smith", "Tanaka", "Yilmaz", "Ivanova",
	"Larsen", "Moreau", "Fischer", "Weber", "Costa", "Horvat", "Popescu",
	"Virtanen", "OConnor", "Andersson", "Kim", "Nguyen", "Singh", "Cohen",
};
static const char *const domains[] = {
	"example.com", "mail.test", "post.example", "inbox.invalid",
	"corp.example.org", "web.test",
};
static const char *const countries[] = {
	"DE", "FR", "NL", "PL", "IT", "ES", "SE", "US", "GB", "JP", "BR", "TR",
};
static const char *const words[] = {
	"the", "order", "was", "delivered", "late", "customer", "asked",
	"for", "a", "refund", "package", "arrived", "damaged", "please",
	"check", "invoice", "address", "changed", "shipping", "label",
	"printed", "twice", "warehouse", "stock", "count", "differs",
	"support", "ticket", "escalated", "resolved", "payment", "pending",
	"card", "declined", "retry", "tomorrow", "morning", "gift", "wrap",
	"requested", "note", "from", "sales", "discount", "applied",
	"coupon", "expired", "phone", "call", "email", "sent", "and", "to",
	"of", "in", "with", "on", "is", "it", "not", "be", "by", "at",
};
static const char *const order_status[] = {
	"new", "paid", "packed", "shipped", "delivered", "returned",
	"cancelled",
};
static const char *const event_kinds[] = {
	"page_view", "login", "logout", "add_to_cart", "remove_from_cart",
	"checkout_started", "checkout_completed", "search", "review_posted",
	"password_reset",
};
static const char *const plans[] = { "free", "pro", "team", "enterprise" };
static const char *const langs[] = { "de", "en", "fr", "nl", "pl", "ja" };
static const char *const currencies[] = { "EUR", "USD", "GBP", "JPY" };
static const char *const streets[] = {
	"Hauptstrasse", "Main Street", "Rue de la Paix", "Kerkstraat",
	"Via Roma", "Calle Mayor", "Storgatan", "Baker Street",
};

#define PICK(r, a) ((a)[gen_below((r), sizeof(a) / sizeof((a)[0]))])

/* ---- formatting helpers (snprintf is too slow for 500 MB) ---------------- */
static char *gen_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

static char *gen_u64(char *p, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* v in fixed width with leading zeros */
static char *gen_dec(char *p, unsigned v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

static char *gen_hex(char *p, uint64_t v, int digits)
{
	static const char hx[] = "0123456789abcdef";
	int i;

	for (i = digits - 1; i >= 0; i--) {
		p[i] = hx[v & 15];
		v >>= 4;
	}
	return p + digits;
}

static char *gen_uuid(char *p, struct gen_rng *r)
{
	uint64_t a = gen_next(r), b = gen_next(r);

	p = gen_hex(p, a >> 32, 8);
	*p++ = '-';
	p = gen_hex(p, a >> 16, 4);
	*p++ = '-';
	p = gen_hex(p, 0x4000 | (a & 0xfff), 4);
	*p++ = '-';
	p = gen_hex(p, 0x8000 | (b >> 50), 4);
	*p++ = '-';
	return gen_hex(p, b, 12);
}

/* "YYYY-MM-DD HH:MM:SS.ffffff+00" for unix seconds t (t >= 0) */
static char *gen_ts(char *p, int64_t t, unsigned usec)
{
	int64_t z = t / 86400 + 719468, sod = t % 86400;
	int64_t era = z / 146097, doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	unsigned m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	unsigned y = (unsigned)(yoe + era * 400 + (m <= 2));

	p = gen_dec(p, y, 4);
	*p++ = '-';
	p = gen_dec(p, m, 2);
	*p++ = '-';
	p = gen_dec(p, d, 2);
	*p++ = ' ';
	p = gen_dec(p, (unsigned)(sod / 3600), 2);
	*p++ = ':';
	p = gen_dec(p, (unsigned)(sod / 60 % 60), 2);
	*p++ = ':';
	p = gen_dec(p, (unsigned)(sod % 60), 2);
	*p++ = '.';
	p = gen_dec(p, usec, 6);
	return gen_str(p, "+00");
}

/* Creation times grow with the id: 2019-01-01 plus ~90 s per id. */
static int64_t gen_created(uint64_t id, struct gen_rng *r)
{
	return 1546300800 + (int64_t)id * 90 + gen_below(r, 90);
}

/* n words; COPY text escapes newlines as "\n" */
static char *gen_words(char *p, struct gen_rng *r, unsigned n, int lines)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (i)
			p = gen_str(p, lines && gen_below(r, 12) == 0 ?
				    "\\n" : " ");
		p = gen_str(p, PICK(r, words));
	}
	return p;
}

static char *gen_lower(char *p, const char *s)
{
	for (; *s; s++)
		*p++ = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
	return p;
}

/* ---- tables ------------------------------------------------------------- */
/*
 * Each row function draws the immutable columns from stream 0 and the
 * mutable ones from stream 1 + upd, so an update changes only those.
 */
static size_t gen_customer(char *out, uint64_t seed, uint64_t id, int upd)
{
	struct gen_rng r, m;
	char *p = out;
	const char *fn, *ln;
	int64_t created;

	gen_rng_init(&r, seed, id, 1);
	gen_rng_init(&m, seed, id, 100 + (uint64_t)upd);
	fn = PICK(&r, first_names);
	ln = PICK(&r, last_names);
	p = gen_u64(p, id);
	*p++ = '\t';
	p = gen_uuid(p, &r);
	*p++ = '\t';
	p = gen_lower(p, fn);
	*p++ = '.';
	p = gen_lower(p, ln);
	p = gen_u64(p, gen_below(&m, 1000));
	*p++ = '@';
	p = gen_str(p, PICK(&m, domains));
	*p++ = '\t';
	p = gen_str(p, fn);
	*p++ = ' ';
	p = gen_str(p, ln);
	*p++ = '\t';
	p = gen_str(p, PICK(&r, countries));
	*p++ = '\t';
	created = gen_created(id, &r);
	p = gen_ts(p, created, gen_below(&r, 1000000));
	*p++ = '\t';
	if (!upd && gen_below(&m, 3) == 0)
		p = gen_str(p, "\\N");
	else
		p = gen_ts(p, created + 3600 + gen_below(&m, 86400 * 400) +
			   (int64_t)upd * 86400 * 500, gen_below(&m, 1000000));
	*p++ = '\t';
	*p++ = gen_below(&m, 10) ? 't' : 'f';
	p = gen_str(p, "\t{\"plan\": \"");
	p = gen_str(p, PICK(&m, plans));
	p = gen_str(p, "\", \"newsletter\": ");
	p = gen_str(p, gen_below(&m, 2) ? "true" : "false");
	p = gen_str(p, ", \"settings\": {\"lang\": \"");
	p = gen_str(p, PICK(&m, langs));
	p = gen_str(p, "\", \"theme\": \"");
	p = gen_str(p, gen_below(&m, 3) ? "light" : "dark");
	p = gen_str(p, "\"}, \"last_ip\": \"10.");
	p = gen_u64(p, gen_below(&m, 256));
	*p++ = '.';
	p = gen_u64(p, gen_below(&m, 256));
	*p++ = '.';
	p = gen_u64(p, gen_below(&m, 256));
	p = gen_str(p, "\", \"logins\": ");
	p = gen_u64(p, gen_below(&m, 5000));
	p = gen_str(p, "}\n");
	return (size_t)(p - out);
}

static size_t gen_order(char *out, uint64_t seed, uint64_t id, int upd)
{
	struct gen_rng r, m;
	char *p = out;
	unsigned i, n, st;
	int64_t created;

	gen_rng_init(&r, seed, id, 2);
	gen_rng_init(&m, seed, id, 200 + (uint64_t)upd);
	p = gen_u64(p, id);
	*p++ = '\t';
	p = gen_u64(p, 1 + id / 3 + gen_below(&r, 1000));
	*p++ = '\t';
	p = gen_uuid(p, &r);
	*p++ = '\t';
	st = gen_below(&m, 5) + (unsigned)upd * 2;
	p = gen_str(p, order_status[st < 7 ? st : 6]);
	*p++ = '\t';
	p = gen_u64(p, 100 + gen_below(&r, 500000));
	*p++ = '\t';
	p = gen_str(p, PICK(&r, currencies));
	*p++ = '\t';
	created = gen_created(id, &r);
	p = gen_ts(p, created, gen_below(&r, 1000000));
	*p++ = '\t';
	p = gen_ts(p, created + gen_below(&m, 86400 * 20) +
		   (int64_t)upd * 86400 * 30, gen_below(&m, 1000000));
	*p++ = '\t';
	p = gen_u64(p, 1 + gen_below(&r, 200));
	*p++ = ' ';
	p = gen_str(p, PICK(&r, streets));
	p = gen_str(p, "\\n");
	p = gen_dec(p, gen_below(&r, 100000), 5);
	*p++ = ' ';
	p = gen_str(p, PICK(&r, last_names));
	p = gen_str(p, "burg\t{\"items\": [");
	n = 1 + gen_below(&r, 4);
	for (i = 0; i < n; i++) {
		p = gen_str(p, i ? ", {\"sku\": \"SKU-" : "{\"sku\": \"SKU-");
		p = gen_dec(p, gen_below(&r, 1000000), 6);
		p = gen_str(p, "\", \"qty\": ");
		p = gen_u64(p, 1 + gen_below(&r, 5));
		p = gen_str(p, ", \"price_cents\": ");
		p = gen_u64(p, 99 + gen_below(&r, 20000));
		*p++ = '}';
	}
	p = gen_str(p, "], \"gift\": ");
	p = gen_str(p, gen_below(&r, 8) ? "false" : "true");
	p = gen_str(p, "}\n");
	return (size_t)(p - out);
}

static size_t gen_event(char *out, uint64_t seed, uint64_t id, int upd)
{
	struct gen_rng r, m;
	char *p = out;

	gen_rng_init(&r, seed, id, 3);
	gen_rng_init(&m, seed, id, 300 + (uint64_t)upd);
	p = gen_u64(p, id);
	*p++ = '\t';
	p = gen_u64(p, 1 + gen_below(&r, 500000));
	*p++ = '\t';
	p = gen_str(p, PICK(&r, event_kinds));
	*p++ = '\t';
	p = gen_ts(p, 1546300800 + (int64_t)id * 20 + gen_below(&r, 20),
		   gen_below(&r, 1000000));
	p = gen_str(p, "\t{\"session\": \"");
	p = gen_hex(p, gen_next(&r), 16);
	p = gen_str(p, "\", \"path\": \"/");
	p = gen_str(p, PICK(&r, words));
	*p++ = '/';
	p = gen_u64(p, gen_below(&r, 100000));
	p = gen_str(p, "\", \"ua\": \"Mozilla/5.0 (X11; Linux x86_64) ");
	p = gen_str(p, gen_below(&r, 2) ? "Firefox/1" : "Chrome/1");
	p = gen_u64(p, 10 + gen_below(&r, 30));
	p = gen_str(p, ".0\", \"ms\": ");
	p = gen_u64(p, gen_below(&m, 3000));
	p = gen_str(p, ", \"flags\": ");
	p = gen_u64(p, gen_below(&m, 64));
	p = gen_str(p, "}\n");
	return (size_t)(p - out);
}

static size_t gen_note(char *out, uint64_t seed, uint64_t id, int upd)
{
	struct gen_rng r, m;
	char *p = out;

	gen_rng_init(&r, seed, id, 4);
	gen_rng_init(&m, seed, id, 400 + (uint64_t)upd);
	p = gen_u64(p, id);
	*p++ = '\t';
	p = gen_u64(p, 1 + id * 2 + gen_below(&r, 50));
	*p++ = '\t';
	p = gen_lower(p, PICK(&r, first_names));
	*p++ = '\t';
	p = gen_words(p, &m, 10 + gen_below(&m, 70), 1);
	*p++ = '\t';
	p = gen_ts(p, gen_created(id, &r), gen_below(&r, 1000000));
	*p++ = '\n';
	return (size_t)(p - out);
}

/* Change rates per 100000 rows (see the header comment). */
static const struct gen_table gen_tables[] = {
	{ "customers", "id, uuid, email, full_name, country, created_at, "
	  "updated_at, is_active, profile", 15, { 1200, 50, 200 },
	  gen_customer },
	{ "orders", "id, customer_id, uuid, status, total_cents, currency, "
	  "created_at, updated_at, shipping_address, items", 30,
	  { 1200, 50, 300 }, gen_order },
	{ "events", "id, customer_id, kind, occurred_at, payload", 40,
	  { 200, 50, 500 }, gen_event },
	{ "notes", "id, order_id, author, body, created_at", 15,
	  { 1000, 50, 0 }, gen_note },
};
#define GEN_NTABLES (sizeof(gen_tables) / sizeof(gen_tables[0]))

static const char *const gen_schema[GEN_NTABLES] = {
	"CREATE TABLE public.customers (\n    id bigint NOT NULL,\n"
	"    uuid uuid NOT NULL,\n    email text NOT NULL,\n"
	"    full_name text NOT NULL,\n    country character(2),\n"
	"    created_at timestamp with time zone NOT NULL,\n"
	"    updated_at timestamp with time zone,\n"
	"    is_active boolean DEFAULT true NOT NULL,\n    profile jsonb\n);\n",
	"CREATE TABLE public.orders (\n    id bigint NOT NULL,\n"
	"    customer_id bigint NOT NULL,\n    uuid uuid NOT NULL,\n"
	"    status text NOT NULL,\n    total_cents bigint NOT NULL,\n"
	"    currency character(3) NOT NULL,\n"
	"    created_at timestamp with time zone NOT NULL,\n"
	"    updated_at timestamp with time zone NOT NULL,\n"
	"    shipping_address text,\n    items jsonb NOT NULL\n);\n",
	"CREATE TABLE public.events (\n    id bigint NOT NULL,\n"
	"    customer_id bigint NOT NULL,\n    kind text NOT NULL,\n"
	"    occurred_at timestamp with time zone NOT NULL,\n"
	"    payload jsonb\n);\n",
	"CREATE TABLE public.notes (\n    id bigint NOT NULL,\n"
	"    order_id bigint NOT NULL,\n    author text NOT NULL,\n"
	"    body text NOT NULL,\n"
	"    created_at timestamp with time zone NOT NULL\n);\n",
};

/* ---- output ---------------------------------------------------------------- */
static void gen_flush(struct gen_out *o)
{
	size_t off = 0;

	while (off < o->len) {
		ssize_t n = write(1, o->buf + off, o->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("gen: write");
			exit(1);
		}
		off += (size_t)n;
	}
	o->len = 0;
}

static void gen_emit(struct gen_out *o, const char *p, size_t n)
{
	if (o->len + n > o->cap)
		gen_flush(o);
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	o->total += n;
}

static void gen_emits(struct gen_out *o, const char *s)
{
	gen_emit(o, s, strlen(s));
}

/* Whether row id of table t changes in version 2: 0 no, 1 update,
 * 2 delete; a fixed draw per (table, id). */
static int gen_change(const struct gen_table *t, size_t ti, uint64_t id)
{
	struct gen_rng r;
	unsigned x;

	gen_rng_init(&r, gen_seed, id, 900 + ti);
	x = gen_below(&r, 100000);
	if (x < t->chg.delete)
		return 2;
	if (x < t->chg.delete + t->chg.update)
		return 1;
	return 0;
}

static int gen_parse(const char *s, unsigned long long max,
		     unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || *end || *v > max ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const char pre[] =
		"--\n-- PostgreSQL database dump\n--\n\n"
		"-- Dumped from database version 15.5 (Debian 15.5-0+deb12u1)\n"
		"-- Dumped by pg_dump version 15.5 (Debian 15.5-0+deb12u1)\n\n"
		"SET statement_timeout = 0;\nSET lock_timeout = 0;\n"
		"SET idle_in_transaction_session_timeout = 0;\n"
		"SET client_encoding = 'UTF8';\n"
		"SET standard_conforming_strings = on;\n"
		"SELECT pg_catalog.set_config('search_path', '', false);\n"
		"SET check_function_bodies = false;\nSET xmloption = content;\n"
		"SET client_min_messages = warning;\nSET row_security = off;\n\n"
		"SET default_tablespace = '';\n\n"
		"SET default_table_access_method = heap;\n\n";
	struct gen_out o = { 0 };
	unsigned long long mb = 500, version = 1, v;
	uint64_t budget, stats[GEN_NTABLES][4] = { { 0 } };
	char row[GEN_ROWMAX], row2[GEN_ROWMAX], line[512];
	size_t ti;
	int opt;

	while ((opt = getopt(argc, argv, "v:m:s:")) != -1) {
		switch (opt) {
		case 'v':
			if (gen_parse(optarg, 2, &version) || version < 1)
				goto usage;
			break;
		case 'm':
			if (gen_parse(optarg, 1 << 20, &mb) || mb < 1)
				goto usage;
			break;
		case 's':
			if (gen_parse(optarg, UINT64_MAX, &v))
				goto usage;
			gen_seed = v;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;

	o.cap = 4u << 20;
	o.buf = malloc(o.cap);
	if (!o.buf) {
		perror("gen");
		return 1;
	}
	budget = (uint64_t)mb << 20;
	gen_emits(&o, pre);
	for (ti = 0; ti < GEN_NTABLES; ti++) {
		snprintf(line, sizeof(line), "--\n-- Name: %s; Type: TABLE; "
			 "Schema: public; Owner: app\n--\n\n",
			 gen_tables[ti].name);
		gen_emits(&o, line);
		gen_emits(&o, gen_schema[ti]);
		snprintf(line, sizeof(line), "\n\nALTER TABLE public.%s OWNER "
			 "TO app;\n\n", gen_tables[ti].name);
		gen_emits(&o, line);
	}
	for (ti = 0; ti < GEN_NTABLES; ti++) {
		const struct gen_table *t = &gen_tables[ti];
		uint64_t tb = budget / 100 * t->share, used = 0, id, last;
		uint64_t nadd;

		snprintf(line, sizeof(line), "--\n-- Data for Name: %s; Type: "
			 "TABLE DATA; Schema: public; Owner: app\n--\n\n"
			 "COPY public.%s (%s) FROM stdin;\n", t->name, t->name,
			 t->columns);
		gen_emits(&o, line);
		/* The id range is fixed by version 1's size, so both
		 * versions hold the same rows. */
		for (id = 1; used < tb; id++) {
			size_t n = t->row(row, gen_seed, id, 0);
			int chg = version == 2 ? gen_change(t, ti, id) : 0;

			used += n;
			stats[ti][0]++;
			if (chg == 2) {
				stats[ti][2]++;
				continue;
			}
			if (chg == 1) {
				stats[ti][1]++;
				n = t->row(row2, gen_seed, id, 1);
				gen_emit(&o, row2, n);
				continue;
			}
			gen_emit(&o, row, n);
		}
		last = id - 1;
		nadd = version == 2 ? last * t->chg.append / 100000 : 0;
		for (id = last + 1; id <= last + nadd; id++)
			gen_emit(&o, row, t->row(row, gen_seed, id, 0));
		stats[ti][3] = nadd;
		gen_emits(&o, "\\.\n\n\n");
	}
	for (ti = 0; ti < GEN_NTABLES; ti++) {
		snprintf(line, sizeof(line), "--\n-- Name: %s %s_pkey; Type: "
			 "CONSTRAINT; Schema: public; Owner: app\n--\n\n"
			 "ALTER TABLE ONLY public.%s\n    ADD CONSTRAINT "
			 "%s_pkey PRIMARY KEY (id);\n\n\n", gen_tables[ti].name,
			 gen_tables[ti].name, gen_tables[ti].name,
			 gen_tables[ti].name);
		gen_emits(&o, line);
	}
	gen_emits(&o, "--\n-- PostgreSQL database dump complete\n--\n\n");
	gen_flush(&o);
	free(o.buf);

	for (ti = 0; ti < GEN_NTABLES; ti++)
		fprintf(stderr, "gen: v%llu %-9s rows %llu updated %llu "
			"deleted %llu appended %llu\n", version,
			gen_tables[ti].name, (unsigned long long)stats[ti][0],
			(unsigned long long)stats[ti][1],
			(unsigned long long)stats[ti][2],
			(unsigned long long)stats[ti][3]);
	for (ti = 0; ti < GEN_NTABLES; ti++) {
		stats[0][0] += ti ? stats[ti][0] : 0;
		for (opt = 1; opt < 4; opt++)
			stats[0][opt] += ti ? stats[ti][opt] : 0;
	}
	fprintf(stderr, "gen: v%llu %llu bytes, %llu rows, %.2f%% changed\n",
		version, (unsigned long long)o.total,
		(unsigned long long)stats[0][0], 100.0 *
		(double)(stats[0][1] + stats[0][2] + stats[0][3]) /
		(double)stats[0][0]);
	return 0;

usage:
	fprintf(stderr, "usage: gen [-v 1|2] [-m MB] [-s SEED] > dump.sql\n");
	return 2;
}
