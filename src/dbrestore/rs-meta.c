/*
 * rs-meta: db/meta.json into struct rs_meta, through the bounded JSON
 * reader of json.  Every field restore relies on is type-checked;
 * optional ones (webhooks, cron jobs, publications, and what older
 * snapshots lack: extension_tables, extension_sequences,
 * unpopulated_matviews, tables_left_out) may be absent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rs-meta.h"
#include "json.h"

static int rs_meta_bad(struct buf *err, const char *what)
{
	if (err)
		buf_addf(err, "meta.json: %s", what);
	return -EBADMSG;
}

static void rs_meta_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void rs_meta_rels_free(struct rs_meta_rel *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].schema);
		free(v[i].name);
		free(v[i].extension);
	}
	free(v);
}

/* A string member that must be present (NUL-free). */
static int rs_meta_str(const struct json *o, const char *key, char **dst,
		       struct buf *err)
{
	size_t n;
	const char *s = json_str(json_get(o, key), &n);

	if (!s || strlen(s) != n) {
		if (err)
			buf_addf(err, "meta.json: \"%s\" is missing or not a string", key);
		return -EBADMSG;
	}
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

/* An array of strings (NULL json = empty unless required). */
static int rs_meta_strv(const struct json *a, char ***v, size_t *n,
			const char *what, struct buf *err)
{
	size_t len = json_len(a);

	*v = NULL;
	*n = 0;
	if (!a || json_type(a) != JSON_ARRAY)
		return rs_meta_bad(err, what);
	*v = calloc(len + 1, sizeof(char *));
	if (!*v)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		size_t sl;
		const char *s = json_str(json_at(a, i), &sl);

		if (!s || strlen(s) != sl)
			return rs_meta_bad(err, what);
		if (!((*v)[i] = strdup(s)))
			return -ENOMEM;
		(*n)++;
	}
	return 0;
}

static int rs_meta_u64(const struct json *j, uint64_t *v)
{
	int64_t x;

	if (!j || json_type(j) != JSON_NUMBER || json_int(j, &x) < 0 ||
	    x < 0)
		return -EBADMSG;
	*v = (uint64_t)x;
	return 0;
}

static int rs_meta_hex32(const char *s)
{
	if (!s || strlen(s) != 32)
		return 0;
	for (int i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int rs_meta_table(struct rs_meta_table *t, const struct json *o,
			 struct buf *err)
{
	const char *kind;
	int r;

	if (json_type(o) != JSON_OBJECT)
		return rs_meta_bad(err, "a table entry is not an object");
	r = rs_meta_str(o, "schema", &t->schema, err);
	if (r == 0)
		r = rs_meta_str(o, "name", &t->name, err);
	if (r == 0)
		r = rs_meta_str(o, "path", &t->path, err);
	if (r < 0)
		return r;
	kind = json_get_str(o, "kind");
	if (!kind || (strcmp(kind, "table") && strcmp(kind, "partitioned")))
		return rs_meta_bad(err, "a table's \"kind\" is not table/partitioned");
	t->partitioned = !strcmp(kind, "partitioned");
	t->partition = json_bool(json_get(o, "partition")) == 1;
	r = rs_meta_strv(json_get(o, "primary_key"), &t->pk, &t->npk,
			 "a table's \"primary_key\" is not a list of names", err);
	if (r == 0)
		r = rs_meta_strv(json_get(o, "columns"), &t->cols, &t->ncols,
				 "a table's \"columns\" is not a list of names", err);
	if (r < 0)
		return r;
	if (json_get(o, "rows")) {
		const char *x = json_get_str(o, "xxh3_128");

		if (rs_meta_u64(json_get(o, "rows"), &t->rows) < 0 ||
		    rs_meta_u64(json_get(o, "bytes"), &t->bytes) < 0 ||
		    !rs_meta_hex32(x)) {
			if (err)
				buf_addf(err, "meta.json: table %s.%s: bad rows/bytes/xxh3_128",
					 t->schema, t->name);
			return -EBADMSG;
		}
		memcpy(t->xxh3, x, 33);
		t->has_data = 1;
	} else if (!t->partitioned) {
		if (err)
			buf_addf(err, "meta.json: table %s.%s has no row count or checksum",
				 t->schema, t->name);
		return -EBADMSG;
	}
	return 0;
}

/* An "extension_tables" element: a table entry with its extension and
 * filter. */
static int rs_meta_ext_table(struct rs_meta_table *t, const struct json *o,
			     struct buf *err)
{
	const struct json *c;
	int r = rs_meta_table(t, o, err);

	if (r == 0)
		r = rs_meta_str(o, "extension", &t->extension, err);
	if (r < 0)
		return r;
	if (t->partitioned || !t->has_data)
		return rs_meta_bad(err, "an extension table has no rows");
	c = json_get(o, "condition");
	if (!c || json_is_null(c))
		return 0;
	return rs_meta_str(o, "condition", &t->condition, err);
}

static int rs_meta_name_cmp(const char *schema, const char *name,
			    const struct rs_meta_table *t)
{
	int d = strcmp(schema, t->schema);

	return d ? d : strcmp(name, t->name);
}

static int rs_meta_byname_cmp(const void *a, const void *b)
{
	const struct rs_meta_table *x = *(const struct rs_meta_table *const *)a;
	const struct rs_meta_table *y = *(const struct rs_meta_table *const *)b;
	int d = rs_meta_name_cmp(x->schema, x->name, y);

	return d ? d : (x > y) - (x < y);
}

/* m->byname: every table once, sorted (a table that fails to parse
 * leaves the index unbuilt: the document is refused anyway). */
static int rs_meta_index(struct rs_meta *m)
{
	m->byname = calloc(m->ntables + 1, sizeof(*m->byname));
	if (!m->byname)
		return -ENOMEM;
	for (size_t i = 0; i < m->ntables; i++)
		m->byname[i] = &m->tables[i];
	qsort(m->byname, m->ntables, sizeof(*m->byname), rs_meta_byname_cmp);
	return 0;
}

/* "tables" then "extension_tables" (absent in older snapshots) */
static int rs_meta_tables(struct rs_meta *m, const struct json *root,
			  struct buf *err)
{
	const struct json *j = json_get(root, "tables");
	const struct json *x = json_get(root, "extension_tables");
	size_t nx;
	int r = 0;

	if (!j || json_type(j) != JSON_ARRAY)
		return rs_meta_bad(err, "\"tables\" is missing");
	if (x && json_type(x) != JSON_ARRAY)
		return rs_meta_bad(err, "\"extension_tables\" is not a list");
	nx = x ? json_len(x) : 0;
	m->tables = calloc(json_len(j) + nx + 1, sizeof(*m->tables));
	if (!m->tables)
		return -ENOMEM;
	for (size_t i = 0; i < json_len(j) && r == 0; i++) {
		r = rs_meta_table(&m->tables[m->ntables], json_at(j, i), err);
		m->ntables++;
	}
	for (size_t i = 0; i < nx && r == 0; i++) {
		r = rs_meta_ext_table(&m->tables[m->ntables], json_at(x, i), err);
		m->ntables++;
	}
	return r ? r : rs_meta_index(m);
}

/* [{"schema", "name"}] (ext: [{"extension", "schema", "name"}]) into
 * *v; absent is empty. */
static int rs_meta_rels(const struct json *a, const char *what, int ext,
			struct rs_meta_rel **v, size_t *n, struct buf *err)
{
	int r = 0;

	if (!a || json_is_null(a))
		return 0;
	if (json_type(a) != JSON_ARRAY)
		return rs_meta_bad(err, what);
	*v = calloc(json_len(a) + 1, sizeof(**v));
	if (!*v)
		return -ENOMEM;
	for (size_t i = 0; i < json_len(a) && r == 0; i++) {
		const struct json *o = json_at(a, i);
		struct rs_meta_rel *x = &(*v)[i];

		if (json_type(o) != JSON_OBJECT)
			return rs_meta_bad(err, what);
		(*n)++;
		r = rs_meta_str(o, "schema", &x->schema, err);
		if (r == 0)
			r = rs_meta_str(o, "name", &x->name, err);
		if (r == 0 && ext)
			r = rs_meta_str(o, "extension", &x->extension, err);
	}
	return r;
}

static int rs_meta_requirements(struct rs_meta *m, const struct json *q,
				struct buf *err)
{
	const struct json *a;
	int r;

	if (!q || json_type(q) != JSON_OBJECT)
		return rs_meta_bad(err, "\"requirements\" is missing");
	r = rs_meta_strv(json_get(q, "extensions"), &m->req_extensions,
			 &m->nreq_extensions, "requirements.extensions", err);
	if (r == 0)
		r = rs_meta_strv(json_get(q, "roles"), &m->req_roles,
				 &m->nreq_roles, "requirements.roles", err);
	if (r < 0)
		return r;
	a = json_get(q, "publications");
	if (a && json_type(a) == JSON_ARRAY) {
		m->publications = calloc(json_len(a) + 1, sizeof(*m->publications));
		if (!m->publications)
			return -ENOMEM;
		for (size_t i = 0; i < json_len(a) && r == 0; i++) {
			const struct json *p = json_at(a, i), *tl;
			struct rs_meta_publication *pub = &m->publications[i];

			r = rs_meta_str(p, "name", &pub->name, err);
			m->npublications++;
			if (r < 0)
				break;
			pub->all_tables = json_bool(json_get(p, "all_tables")) == 1;
			tl = json_get(p, "tables");
			if (!tl || json_type(tl) != JSON_ARRAY)
				continue;
			pub->tables = calloc(json_len(tl) + 1, sizeof(char *));
			if (!pub->tables)
				return -ENOMEM;
			for (size_t k = 0; k < json_len(tl) && r == 0; k++) {
				const char *s = json_get_str(json_at(tl, k), "schema");
				const char *t = json_get_str(json_at(tl, k), "table");
				struct buf b = BUF_INIT;

				if (!s || !t)
					return rs_meta_bad(err, "a publication table lacks schema/table");
				r = buf_addf(&b, "%s.%s", s, t);
				if (r == 0 &&
				    !(pub->tables[pub->ntables++] = buf_detach(&b, NULL)))
					r = -ENOMEM;
				buf_release(&b);
			}
		}
	}
	a = json_get(q, "webhooks");
	if (r == 0 && a && json_type(a) == JSON_ARRAY) {
		m->webhooks = calloc(json_len(a) + 1, sizeof(*m->webhooks));
		if (!m->webhooks)
			return -ENOMEM;
		for (size_t i = 0; i < json_len(a) && r == 0; i++) {
			const struct json *w = json_at(a, i);
			struct rs_meta_webhook *h = &m->webhooks[i];

			m->nwebhooks++;
			r = rs_meta_str(w, "schema", &h->schema, err);
			if (r == 0)
				r = rs_meta_str(w, "table", &h->table, err);
			if (r == 0)
				r = rs_meta_str(w, "trigger", &h->trigger, err);
			if (r == 0)
				r = rs_meta_str(w, "function", &h->function, err);
		}
	}
	a = json_get(q, "cron_jobs");
	if (r == 0 && (!a || json_is_null(a))) {
		m->cron_unknown = 1;
	} else if (r == 0 && json_type(a) == JSON_ARRAY) {
		m->cron_jobs = calloc(json_len(a) + 1, sizeof(char *));
		if (!m->cron_jobs)
			return -ENOMEM;
		for (size_t i = 0; i < json_len(a); i++) {
			const char *n = json_get_str(json_at(a, i), "jobname");

			if (!(m->cron_jobs[i] = strdup(n ? n : "")))
				return -ENOMEM;
			m->ncron_jobs++;
		}
	}
	return r;
}

static int rs_meta_fill(struct rs_meta *m, const struct json *root,
			struct buf *err)
{
	const struct json *j;
	int r;

	if (json_type(root) != JSON_OBJECT)
		return rs_meta_bad(err, "not a JSON object");
	r = rs_meta_str(root, "format", &m->format, err);
	if (r < 0)
		return r;
	if (strcmp(m->format, "vault-pg-1")) {
		if (err)
			buf_addf(err, "meta.json: unknown format \"%s\"", m->format);
		return -EBADMSG;
	}
	r = rs_meta_str(root, "source", &m->source, err);
	if (r == 0)
		r = rs_meta_str(root, "server_version", &m->server_version, err);
	if (r == 0)
		r = rs_meta_str(root, "database", &m->database, err);
	if (r == 0)
		r = rs_meta_str(root, "encoding", &m->encoding, err);
	if (r < 0)
		return r;
	if (json_int(json_get(root, "server_version_num"), &m->server_num) < 0)
		return rs_meta_bad(err, "\"server_version_num\" is not a number");
	j = json_get(root, "copy_settings");
	if (!j || json_type(j) != JSON_OBJECT)
		return rs_meta_bad(err, "\"copy_settings\" is missing");
	m->settings = calloc(2 * json_len(j) + 1, sizeof(char *));
	if (!m->settings)
		return -ENOMEM;
	for (size_t i = 0; i < json_len(j); i++) {
		const char *k = json_key_at(j, i, NULL);
		const char *v = json_str(json_at(j, i), NULL);

		if (!v)
			return rs_meta_bad(err, "a copy setting is not a string");
		m->settings[2 * i] = strdup(k);
		m->settings[2 * i + 1] = strdup(v);
		m->nsettings++;
		if (!m->settings[2 * i] || !m->settings[2 * i + 1])
			return -ENOMEM;
	}
	j = json_get(root, "schemas");
	r = rs_meta_strv(json_get(j, "captured"), &m->schemas, &m->nschemas,
			 "\"schemas.captured\" is not a list of names", err);
	if (r < 0)
		return r;
	r = rs_meta_tables(m, root, err);
	if (r == 0)
		r = rs_meta_rels(json_get(root, "extension_sequences"),
				 "\"extension_sequences\" is not a list of sequences",
				 1, &m->ext_sequences, &m->next_sequences, err);
	if (r == 0)
		r = rs_meta_rels(json_get(root, "unpopulated_matviews"),
				 "\"unpopulated_matviews\" is not a list of relations",
				 0, &m->unpopulated, &m->nunpopulated, err);
	if (r == 0)
		r = rs_meta_rels(json_get(root, "tables_left_out"),
				 "\"tables_left_out\" is not a list of tables",
				 0, &m->left_out, &m->nleft_out, err);
	if (r == 0 && json_get(root, "large_objects")) {
		uint64_t n;

		if (rs_meta_u64(json_get(root, "large_objects"), &n) < 0)
			return rs_meta_bad(err, "\"large_objects\" is not a count");
		m->large_objects = (size_t)n;
	}
	if (r == 0)
		r = rs_meta_requirements(m, json_get(root, "requirements"), err);
	return r;
}

int rs_meta_parse(struct rs_meta **out, const char *doc, size_t len,
		  struct buf *err)
{
	struct rs_meta *m = calloc(1, sizeof(*m));
	struct json *root = NULL;
	int r;

	*out = NULL;
	if (!m)
		return -ENOMEM;
	r = json_parse(&root, doc, len, err);
	if (r == 0)
		r = rs_meta_fill(m, root, err);
	json_free(root);
	if (r < 0) {
		rs_meta_free(m);
		return r;
	}
	*out = m;
	return 0;
}

void rs_meta_free(struct rs_meta *m)
{
	if (!m)
		return;
	free(m->format);
	free(m->source);
	free(m->server_version);
	free(m->database);
	free(m->encoding);
	rs_meta_strv_free(m->settings, 2 * m->nsettings);
	rs_meta_strv_free(m->schemas, m->nschemas);
	for (size_t i = 0; i < m->ntables; i++) {
		struct rs_meta_table *t = &m->tables[i];

		free(t->schema);
		free(t->name);
		free(t->path);
		rs_meta_strv_free(t->pk, t->npk);
		rs_meta_strv_free(t->cols, t->ncols);
		free(t->extension);
		free(t->condition);
	}
	free(m->tables);
	free(m->byname);
	rs_meta_rels_free(m->ext_sequences, m->next_sequences);
	rs_meta_rels_free(m->unpopulated, m->nunpopulated);
	rs_meta_rels_free(m->left_out, m->nleft_out);
	rs_meta_strv_free(m->req_extensions, m->nreq_extensions);
	rs_meta_strv_free(m->req_roles, m->nreq_roles);
	for (size_t i = 0; i < m->npublications; i++) {
		free(m->publications[i].name);
		rs_meta_strv_free(m->publications[i].tables,
				  m->publications[i].ntables);
	}
	free(m->publications);
	for (size_t i = 0; i < m->nwebhooks; i++) {
		free(m->webhooks[i].schema);
		free(m->webhooks[i].table);
		free(m->webhooks[i].trigger);
		free(m->webhooks[i].function);
	}
	free(m->webhooks);
	rs_meta_strv_free(m->cron_jobs, m->ncron_jobs);
	free(m);
}

const struct rs_meta_table *rs_meta_find(const struct rs_meta *m,
					 const char *schema, const char *name)
{
	size_t lo = 0, hi = m->ntables;

	if (!m->byname) {
		for (size_t i = 0; i < m->ntables; i++)
			if (!rs_meta_name_cmp(schema, name, &m->tables[i]))
				return &m->tables[i];
		return NULL;
	}
	/* the first of equal ones */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rs_meta_name_cmp(schema, name, m->byname[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < m->ntables && !rs_meta_name_cmp(schema, name, m->byname[lo]))
		return m->byname[lo];
	return NULL;
}

int rs_meta_left_out(const struct rs_meta *m, const char *schema,
		     const char *name)
{
	for (size_t i = 0; i < m->nleft_out; i++)
		if (!strcmp(m->left_out[i].schema, schema) &&
		    !strcmp(m->left_out[i].name, name))
			return 1;
	return 0;
}

int rs_meta_unpopulated(const struct rs_meta *m, const char *schema,
			const char *name)
{
	for (size_t i = 0; i < m->nunpopulated; i++)
		if (!strcmp(m->unpopulated[i].schema, schema) &&
		    !strcmp(m->unpopulated[i].name, name))
			return 1;
	return 0;
}

const char *rs_meta_setting(const struct rs_meta *m, const char *name)
{
	for (size_t i = 0; i < m->nsettings; i++)
		if (!strcmp(m->settings[2 * i], name))
			return m->settings[2 * i + 1];
	return NULL;
}
