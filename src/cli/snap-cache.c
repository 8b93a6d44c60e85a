/*
 * snap-cache: the files cache of `vault snapshot` (snap-cache.h; the
 * format and its rules in formats/files-cache.md).
 *
 * Kept outside the repository, on the machine whose files it describes,
 * as restic and borg keep theirs: the repository may be read-only, on a
 * slow disk or synced offsite, and another machine's inodes mean
 * nothing here.  Kept out of the manifest too: a manifest entry's
 * attributes are shown by `ls` and written by `mount --with-metadata`,
 * and inode numbers and ctimes are no part of a file's content; so the
 * manifest format is unchanged and old repositories need nothing.
 *
 * One cache file per PATH.  While the walk runs, each file stored whole
 * is noted (key, size, times, inode) in memory; after the commit the new
 * snapshot's manifest is read once, and the noted files get their chunk
 * lists from it, so the writer needs no new interface.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fcache.h"
#include "repo.h"
#include "snap-cache.h"

#define SNAP_CACHE_ROOT_DOMAIN "vault files cache root 1"
#define SNAP_CACHE_ENTRY_DOMAIN "vault files cache entry 1"
/* A cache file larger than this is not read (it cannot be ours). */
#define SNAP_CACHE_MAX_BYTES ((size_t)1 << 32)

static const char snap_cache_tag[] =
	"Signature: 8a477f597d28d172789f06886806bc55\n"
	"# This file is a cache directory tag created by vault.\n"
	"# For information about cache directory tags see https://bford.info/cachedir/\n";

/* A file stored whole during the walk. */
struct snap_cache_seen {
	uint8_t key[FCACHE_KEY_SIZE];
	uint64_t size, ino;
	int64_t mtime_ns, ctime_ns;
	size_t chunk_off;	/* in the root's chunk buffer, at save */
	size_t nchunks;
	int found;		/* met in the new manifest */
};

struct snap_cache_root {
	char *base;		/* top-level name in the snapshot */
	char *file;		/* its cache file */
	struct buf bytes;	/* the old cache file */
	struct fcache old;
	struct snap_cache_seen *notes;
	size_t nnotes, cap;
};

struct snap_cache {
	struct cli *c;
	struct repo *r;
	char *dir;		/* <cache dir>/<repository id>/files; NULL: off */
	char *top;		/* <cache dir> */
	int64_t racy_from;	/* ns: files changed since are not noted */
	int use_old, keep_new;
	struct snap_cache_root *roots;
	size_t nroots;
	struct buf key;		/* scratch: what is hashed */
	struct repo_chunkref *refs;
	size_t refcap;
};

static char *snap_cache_dir_of(void)
{
	const char *v = getenv("VAULT_CACHE_DIR");
	struct buf b = BUF_INIT;

	if (v && *v)
		buf_addstr(&b, v);
	else if ((v = getenv("XDG_CACHE_HOME")) && *v == '/')
		buf_addf(&b, "%s/vault", v);
	else if ((v = getenv("HOME")) && *v == '/')
		buf_addf(&b, "%s/.cache/vault", v);
	else
		return NULL;
	return buf_detach(&b, NULL);
}

struct snap_cache *snap_cache_new(struct cli *c, struct repo *r,
				  int64_t start_ns, int use_old, int keep_new)
{
	struct snap_cache *sc = calloc(1, sizeof(*sc));
	struct buf b = BUF_INIT;
	char id[65];

	if (!sc)
		return NULL;
	sc->c = c;
	sc->r = r;
	sc->use_old = use_old;
	sc->keep_new = keep_new;
	sc->racy_from = start_ns - SNAP_CACHE_RACY_NS;
	buf_init(&sc->key, 0);
	sc->top = snap_cache_dir_of();
	if (sc->top) {
		repo_id(r, id);
		if (buf_addf(&b, "%s/%s/files", sc->top, id) < 0) {
			snap_cache_free(sc);
			return NULL;
		}
		sc->dir = buf_detach(&b, NULL);
	}
	return sc;
}

void snap_cache_free(struct snap_cache *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->nroots; i++) {
		struct snap_cache_root *rt = &sc->roots[i];

		free(rt->base);
		free(rt->file);
		fcache_release(&rt->old);
		buf_release(&rt->bytes);
		free(rt->notes);
	}
	free(sc->roots);
	free(sc->dir);
	free(sc->top);
	free(sc->refs);
	buf_release(&sc->key);
	free(sc);
}

/* The keyed hash of domain, NUL, then the parts (each NUL-separated). */
static int snap_cache_hash(struct snap_cache *sc, const char *domain,
			   const char *a, size_t alen, const char *b,
			   uint8_t out[FCACHE_KEY_SIZE])
{
	struct buf *k = &sc->key;

	buf_reset(k);
	if (buf_add(k, domain, strlen(domain) + 1) < 0 ||
	    buf_add(k, a, alen) < 0 ||
	    (b && (buf_addch(k, '\0') < 0 || buf_addstr(k, b) < 0)))
		return -ENOMEM;
	repo_keyed_hash(sc->r, k->data, k->len, out);
	return 0;
}

/* Reads rt's cache file into rt->old (left empty when there is none). */
static void snap_cache_load(struct snap_cache *sc, struct snap_cache_root *rt)
{
	struct buf err = BUF_INIT;
	struct stat st;
	const char *why = NULL;
	int fd = open(rt->file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), e = 0;

	if (fd < 0) {
		if (errno != ENOENT)
			why = strerror(errno);
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > SNAP_CACHE_MAX_BYTES) {
		why = "not a files cache";
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (buf_grow(&rt->bytes, 1 << 20) < 0) {
			why = strerror(ENOMEM);
			goto out;
		}
		n = read(fd, rt->bytes.data + rt->bytes.len,
			 rt->bytes.cap - rt->bytes.len - 1);
		if (n < 0) {
			why = strerror(errno);
			goto out;
		}
		if (n == 0)
			break;
		buf_setlen(&rt->bytes, rt->bytes.len + (size_t)n);
	}
	e = fcache_decode(&rt->old, rt->bytes.data, rt->bytes.len, &err);
	if (e < 0)
		why = err.len ? (const char *)err.data : strerror(-e);
out:
	if (why) {
		buf_release(&rt->bytes);
		cli_warn(sc->c, "ignoring the files cache %s (%s): every file of %s is read",
			 rt->file, why, rt->base);
	}
	if (fd >= 0)
		close(fd);
	buf_release(&err);
}

int snap_cache_root(struct snap_cache *sc, const char *parent,
		    const char *base)
{
	struct snap_cache_root *rt;
	struct buf abs = BUF_INIT, file = BUF_INIT;
	char host[256], hex[FCACHE_KEY_SIZE * 2 + 1];
	uint8_t key[FCACHE_KEY_SIZE];
	void *v;
	int r;

	if (!sc->dir)
		return 0;
	v = realloc(sc->roots, (sc->nroots + 1) * sizeof(*sc->roots));
	if (!v)
		return -ENOMEM;
	sc->roots = v;
	rt = &sc->roots[sc->nroots];
	memset(rt, 0, sizeof(*rt));
	buf_init(&rt->bytes, 0);
	sc->nroots++;
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	r = buf_addf(&abs, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "",
		     base);
	if (r == 0)
		r = snap_cache_hash(sc, SNAP_CACHE_ROOT_DOMAIN, host,
				    strlen(host), (const char *)abs.data, key);
	hex_encode(hex, key, sizeof(key));
	if (r == 0)
		r = buf_addf(&file, "%s/%s", sc->dir, hex);
	rt->base = strdup(base);
	rt->file = buf_detach(&file, NULL);
	buf_release(&abs);
	if (r < 0 || !rt->base || !rt->file)
		return -ENOMEM;
	if (sc->use_old)
		snap_cache_load(sc, rt);
	return 0;
}

static struct snap_cache_root *snap_cache_cur(struct snap_cache *sc)
{
	return sc && sc->nroots ? &sc->roots[sc->nroots - 1] : NULL;
}

static int64_t snap_cache_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

int snap_cache_lookup(struct snap_cache *sc, const char *path, size_t len,
		      const struct stat *st, const struct repo_chunkref **c,
		      size_t *n)
{
	struct snap_cache_root *rt = snap_cache_cur(sc);
	struct manifest_chunk ch;
	struct fcache_ent e;
	uint8_t key[FCACHE_KEY_SIZE];

	if (!rt || !rt->old.n ||
	    snap_cache_hash(sc, SNAP_CACHE_ENTRY_DOMAIN, path, len, NULL,
			    key) < 0 ||
	    !fcache_find(&rt->old, key, &e))
		return 0;
	if (e.size != (uint64_t)st->st_size || e.ino != (uint64_t)st->st_ino ||
	    e.mtime_ns != snap_cache_ns(&st->st_mtim) ||
	    e.ctime_ns != snap_cache_ns(&st->st_ctim))
		return 0;
	if (e.nchunks > sc->refcap) {
		void *v = realloc(sc->refs, e.nchunks * sizeof(*sc->refs));

		if (!v)
			return 0;	/* read it instead */
		sc->refs = v;
		sc->refcap = e.nchunks;
	}
	for (size_t i = 0; i < e.nchunks; i++) {
		fcache_chunk(&e, i, &ch);
		memcpy(sc->refs[i].id, ch.id, sizeof(ch.id));
		sc->refs[i].len = ch.len;
	}
	*c = sc->refs;
	*n = e.nchunks;
	return 1;
}

int snap_cache_note(struct snap_cache *sc, const char *path, size_t len,
		    const struct stat *st)
{
	struct snap_cache_root *rt = snap_cache_cur(sc);
	struct snap_cache_seen *nt;

	if (!rt || !sc->keep_new ||
	    snap_cache_ns(&st->st_mtim) >= sc->racy_from ||
	    snap_cache_ns(&st->st_ctim) >= sc->racy_from)
		return 0;
	if (rt->nnotes == rt->cap) {
		size_t cap = rt->cap ? rt->cap * 2 : 256;
		void *v = realloc(rt->notes, cap * sizeof(*rt->notes));

		if (!v)
			return -ENOMEM;
		rt->notes = v;
		rt->cap = cap;
	}
	nt = &rt->notes[rt->nnotes];
	memset(nt, 0, sizeof(*nt));
	if (snap_cache_hash(sc, SNAP_CACHE_ENTRY_DOMAIN, path, len, NULL,
			    nt->key) < 0)
		return -ENOMEM;
	nt->size = (uint64_t)st->st_size;
	nt->ino = (uint64_t)st->st_ino;
	nt->mtime_ns = snap_cache_ns(&st->st_mtim);
	nt->ctime_ns = snap_cache_ns(&st->st_ctim);
	rt->nnotes++;
	return 0;
}

/* ---- saving ---------------------------------------------------------- */

static int snap_cache_note_cmp(const void *a, const void *b)
{
	return memcmp(((const struct snap_cache_seen *)a)->key,
		      ((const struct snap_cache_seen *)b)->key, FCACHE_KEY_SIZE);
}

/* The root whose base is the first component of path (roots are few). */
static struct snap_cache_root *snap_cache_root_of(struct snap_cache *sc,
						  const char *path, size_t len)
{
	const char *slash = memchr(path, '/', len);
	size_t n = slash ? (size_t)(slash - path) : len;

	for (size_t i = 0; i < sc->nroots; i++)
		if (strlen(sc->roots[i].base) == n &&
		    !memcmp(sc->roots[i].base, path, n))
			return &sc->roots[i];
	return NULL;
}

/* Gives the noted files their chunk lists (into chunks[k], per root k)
 * from snapshot id's manifest. */
static int snap_cache_collect(struct snap_cache *sc, const char *id,
			      struct buf *chunks, struct buf *err)
{
	const struct manifest_entry *e;
	struct repo_iter *it = NULL;
	int r = repo_iter_new(sc->r, id, &it, err);

	while (r >= 0 && (r = repo_iter_next(it, &e, err)) == 1) {
		struct snap_cache_root *rt;
		struct snap_cache_seen key, *nt;
		const struct manifest_chunk *ch;
		size_t n;

		if (e->kind != MANIFEST_FILE)
			continue;
		rt = snap_cache_root_of(sc, e->path, e->path_len);
		if (!rt || !rt->nnotes)
			continue;
		r = snap_cache_hash(sc, SNAP_CACHE_ENTRY_DOMAIN, e->path,
				    e->path_len, NULL, key.key);
		if (r < 0)
			break;
		nt = bsearch(&key, rt->notes, rt->nnotes, sizeof(*rt->notes),
			     snap_cache_note_cmp);
		if (!nt || nt->found || e->size != nt->size)
			continue;
		r = repo_iter_chunks(it, &ch, &n, err);
		if (r < 0)
			break;
		nt->chunk_off = chunks[rt - sc->roots].len / sizeof(*ch);
		nt->nchunks = n;
		nt->found = 1;
		r = buf_add(&chunks[rt - sc->roots], ch, n * sizeof(*ch));
	}
	repo_iter_free(it);
	return r < 0 ? r : 0;
}

/* Writes p[0..n) to path through a temporary file beside it. */
static int snap_cache_write(const char *path, const void *p, size_t n)
{
	struct buf tmp = BUF_INIT;
	int fd, r = 0;

	if (buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
		return -ENOMEM;
	fd = open((const char *)tmp.data, O_WRONLY | O_CREAT | O_TRUNC |
		  O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		r = -errno;
	if (r == 0 && cli_write_all(fd, p, n) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename((const char *)tmp.data, path) < 0)
		r = -errno;
	if (r < 0)
		unlink((const char *)tmp.data);
	buf_release(&tmp);
	return r;
}

/* mkdir -p of sc->dir (mode 0700), with the tag in the top directory. */
static int snap_cache_mkdirs(struct snap_cache *sc)
{
	struct buf tag = BUF_INIT;
	char *p = strdup(sc->dir);
	int r = 0;

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1, save; r == 0; s++) {
		if (*s && *s != '/')
			continue;
		save = *s;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			r = -errno;
		*s = save;
		if (!save)
			break;
	}
	free(p);
	if (r == 0 && buf_addf(&tag, "%s/CACHEDIR.TAG", sc->top) == 0 &&
	    access((const char *)tag.data, F_OK) < 0)
		snap_cache_write((const char *)tag.data, snap_cache_tag,
				 sizeof(snap_cache_tag) - 1);
	buf_release(&tag);
	return r;
}

/* Encodes and writes one root's new cache. */
static int snap_cache_save_root(struct snap_cache_root *rt,
				const struct buf *chunks, struct buf *out)
{
	const struct manifest_chunk *ch = (const void *)chunks->data;
	struct fcache_ent *v = calloc(rt->nnotes ? rt->nnotes : 1, sizeof(*v));
	size_t n = 0;
	int r;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < rt->nnotes; i++) {
		const struct snap_cache_seen *nt = &rt->notes[i];

		if (!nt->found)
			continue;
		memcpy(v[n].key, nt->key, FCACHE_KEY_SIZE);
		v[n].size = nt->size;
		v[n].ino = nt->ino;
		v[n].mtime_ns = nt->mtime_ns;
		v[n].ctime_ns = nt->ctime_ns;
		v[n].nchunks = nt->nchunks;
		v[n].chunks = ch + nt->chunk_off;
		n++;
	}
	r = fcache_encode(out, v, n);
	free(v);
	return r < 0 ? r : snap_cache_write(rt->file, out->data, out->len);
}

void snap_cache_save(struct snap_cache *sc, const char *id)
{
	struct buf err = BUF_INIT, out = BUF_INIT, *chunks;
	int r;

	if (!sc || !sc->dir || !sc->keep_new || !sc->nroots)
		return;
	chunks = calloc(sc->nroots, sizeof(*chunks));
	if (!chunks) {
		cli_warn(sc->c, "cannot update the files cache: out of memory");
		return;
	}
	for (size_t i = 0; i < sc->nroots; i++) {
		struct snap_cache_root *rt = &sc->roots[i];
		size_t k = 0;

		buf_init(&chunks[i], 0);
		/* the walk noted them in path order; lookups need key order
		 * (and one note per key) */
		qsort(rt->notes, rt->nnotes, sizeof(*rt->notes),
		      snap_cache_note_cmp);
		for (size_t j = 0; j < rt->nnotes; j++)
			if (!k || memcmp(rt->notes[k - 1].key, rt->notes[j].key,
					 FCACHE_KEY_SIZE))
				rt->notes[k++] = rt->notes[j];
		rt->nnotes = k;
	}
	r = snap_cache_collect(sc, id, chunks, &err);
	if (r == 0)
		r = snap_cache_mkdirs(sc);
	for (size_t i = 0; r == 0 && i < sc->nroots; i++)
		r = snap_cache_save_root(&sc->roots[i], &chunks[i], &out);
	if (r < 0)
		cli_warn(sc->c, "cannot update the files cache in %s: %s; the next snapshot reads every file again",
			 sc->dir, err.len ? (const char *)err.data
			 : strerror(-r));
	for (size_t i = 0; i < sc->nroots; i++)
		buf_release(&chunks[i]);
	free(chunks);
	buf_release(&out);
	buf_release(&err);
}
