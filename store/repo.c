/*
 * repo: creating and opening a repository, its keys and snapshot
 * queries.  The helpers the other store files share (repo-internal.h)
 * live in repo-internal.c, below the index and the reader; reading a
 * snapshot back (repo_iter_*, repo_view_*) lives in iter.c, above this.
 *
 * Opening for writing also repairs what a crash can leave behind:
 * temporary packs in tmp/ and the temporary files of atomic writes (a
 * key file, a restore log) are deleted, and complete packs that reached
 * packs/ but not the index (a crash between the rename and the index
 * commit) are imported from their trailers (inventory.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "config.h"
#include "index.h"
#include "inventory.h"
#include "keyfile.h"
#include "lock.h"
#include "reader.h"
#include "repo-internal.h"

#define REPO_CONFIG_MAX		(64u << 10)
#define REPO_KEYFILE_MAX	(64u << 10)
/*
 * Argon2id cost for newly wrapped keys (init, key passwd): the key
 * file's defaults, borg 2's 64 MiB and 3 passes (about 0.1 s here).
 * The repository key is the only thing between a stolen repository and
 * its data, but the derivation runs on every command and its memory is
 * most of a command's peak RSS, which is to stay under 80 MiB.  The
 * limits are stored in the key file, so opening always uses what the
 * file says (256 MiB for keys wrapped before), and `vault key passwd`
 * rewraps with these.
 */
static uint64_t repo_kdf_ops = KEYFILE_DEFAULT_OPSLIMIT;
static uint64_t repo_kdf_mem = KEYFILE_DEFAULT_MEMLIMIT;

void repo_kdf_limits(uint64_t opslimit, uint64_t memlimit)
{
	repo_kdf_ops = opslimit;
	repo_kdf_mem = memlimit;
}

void repo_kdf_current(uint64_t *opslimit, uint64_t *memlimit)
{
	*opslimit = repo_kdf_ops;
	*memlimit = repo_kdf_mem;
}

/* Reads a whole small file (at most max bytes) into out. */
static int repo_read_file(const char *path, size_t max, struct buf *out)
{
	uint8_t tmp[8192];
	ssize_t n;
	int fd, rc = 0;

	buf_reset(out);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : 0;
			break;
		}
		if (out->len + (size_t)n > max) {
			rc = -EFBIG;
			break;
		}
		rc = buf_add(out, tmp, (size_t)n);
		if (rc < 0)
			break;
	}
	close(fd);
	return rc;
}

/* ---- init -------------------------------------------------------- */

/* 0 when dir exists and is empty (creating it if missing). */
static int repo_prepare_dir(const char *dir, struct buf *err)
{
	struct dirent *de;
	DIR *d;
	int busy = 0;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return repo_errf(err, -errno, "cannot create %s: %s", dir,
				 strerror(errno));
	d = opendir(dir);
	if (!d)
		return repo_errf(err, -errno, "cannot open %s: %s", dir,
				 strerror(errno));
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			busy = 1;
	closedir(d);
	if (busy)
		return repo_errf(err, -EEXIST, "%s is not empty; a repository"
				 " can only be created in an empty directory",
				 dir);
	return 0;
}

static int repo_mkdirs(const struct repo *r, struct buf *err)
{
	static const char *const dirs[] = { "packs", "keys", "tmp" };
	struct buf p = BUF_INIT;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(dirs) / sizeof(dirs[0]);
	     i++) {
		rc = repo_join(r, dirs[i], &p);
		if (rc == 0 && mkdir((char *)p.data, 0700) < 0)
			rc = repo_errf(err, -errno, "cannot create %s: %s",
				       (char *)p.data, strerror(errno));
	}
	buf_release(&p);
	return rc;
}

static int repo_touch(const struct repo *r, const char *rel)
{
	struct buf p = BUF_INIT;
	int fd, rc;

	rc = repo_join(r, rel, &p);
	if (rc < 0)
		return rc;
	fd = open((char *)p.data, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	rc = fd < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	buf_release(&p);
	return rc;
}

/* *replaced as repo_write_atomic says. */
static int repo_write_keys(const struct repo *r, const char *pass,
			   size_t passlen, int *replaced, struct buf *err)
{
	struct buf kf = BUF_INIT, path = BUF_INIT;
	int rc;

	rc = keyfile_encode(&kf, &r->keys, pass, passlen, repo_kdf_ops,
			    repo_kdf_mem);
	if (rc < 0) {
		buf_wipe(&kf);
		return repo_errf(err, rc, "cannot wrap the keys: %s",
				 strerror(-rc));
	}
	rc = repo_join(r, "keys/repokey", &path);
	if (rc == 0)
		rc = repo_write_atomic((char *)path.data, kf.data, kf.len,
				       replaced, err);
	buf_wipe(&kf);
	buf_release(&path);
	return rc;
}

int repo_index_open(struct repo *r, struct index **ix, struct buf *err)
{
	struct buf path = BUF_INIT;
	int rc;

	rc = repo_join(r, "index.db", &path);
	if (rc == 0 && r->ix_mode == REPO_IX_SHARED)
		rc = index_open_ro(ix, (char *)path.data, err);
	else if (rc == 0 && r->ix_mode == REPO_IX_IMMUTABLE)
		rc = index_open_immutable(ix, (char *)path.data, err);
	else if (rc == 0)
		rc = index_open(ix, (char *)path.data, err);
	if (rc == -EBADMSG)
		repo_errf(err, rc, "%s is damaged; run `vault check"
			  " --rebuild-index` to rebuild it from the packs (the"
			  " damaged file is kept aside)", (char *)path.data);
	buf_release(&path);
	return rc;
}


int repo_init(const char *dir, int encrypted, const char *pass,
	      size_t passlen, struct buf *err)
{
	return repo_init_compression(dir, encrypted, pass, passlen,
				     REPO_COMPRESSION_DEFAULT, err);
}

int repo_init_compression(const char *dir, int encrypted, const char *pass,
			  size_t passlen, enum repo_compression c,
			  struct buf *err)
{
	struct repo r;
	int rc;

	if (!repo_compression_valid(c))
		return repo_errf(err, -EINVAL, "repo_init: %s",
				 "unknown compression");

	if (!dir || !*dir || (encrypted && !pass))
		return repo_errf(err, -EINVAL, "repo_init: %s",
				 encrypted && !pass ? "an encrypted repository"
				 " needs a passphrase" : "no directory");
	if (sodium_init() < 0)
		return repo_errf(err, -EIO, "libsodium failed to initialize");
	memset(&r, 0, sizeof(r));
	rc = repo_prepare_dir(dir, err);
	if (rc < 0)
		return rc;
	r.path = (char *)dir;
	config_default(&r.cfg, encrypted);
	r.cfg.compression = (enum config_compression)c;
	keyfile_generate(&r.keys);
	rc = repo_mkdirs(&r, err);
	if (rc == 0)
		rc = repo_write_keys(&r, encrypted ? pass : NULL,
				     encrypted ? passlen : 0, NULL, err);
	if (rc == 0)
		rc = repo_index_open(&r, &r.ix, err);
	if (rc == 0)
		rc = repo_touch(&r, "lock");
	if (rc == 0)
		rc = repo_touch(&r, "lock.read");
	/* config last: its presence is what makes the directory a repo */
	if (rc == 0)
		rc = repo_write_config(&r, NULL, err);
	if (rc == 0)
		rc = repo_fsync_dir(dir);
	index_free(r.ix);
	sodium_memzero(&r.keys, sizeof(r.keys));
	if (rc < 0 && err && !err->len)
		repo_errf(err, rc, "cannot create repository %s: %s", dir,
			  strerror(-rc));
	return rc;
}

/* ---- open -------------------------------------------------------- */

static int repo_load_config(struct repo *r, struct buf *err)
{
	struct buf path = BUF_INIT, text = BUF_INIT, why = BUF_INIT;
	int rc;

	rc = repo_join(r, "config", &path);
	if (rc == 0)
		rc = repo_read_file((char *)path.data, REPO_CONFIG_MAX, &text);
	if (rc == -ENOENT)
		rc = repo_errf(err, -ENOENT, "%s is not a vault repository"
			       " (no config file)", r->path);
	else if (rc < 0)
		rc = repo_errf(err, rc, "cannot read %s: %s",
			       (char *)path.data, strerror(-rc));
	else if ((rc = config_decode(&r->cfg, (char *)text.data, text.len,
				     &why)) < 0)
		rc = repo_errf(err, rc, "%s: %s", (char *)path.data,
			       (char *)why.data);
	buf_release(&path);
	buf_release(&text);
	buf_release(&why);
	return rc;
}

/* Decodes the key file, asking for the passphrase when it needs one. */
static int repo_unwrap(struct repo *r, const struct buf *kf,
		       const struct repo_open_opts *o, struct buf *err)
{
	struct buf pass = BUF_INIT;
	int kdf = keyfile_kdf(kf->data, kf->len), rc;

	if (kdf < 0)
		return repo_errf(err, -EBADMSG, "%s/keys/repokey is corrupt",
				 r->path);
	if (kdf == KEYFILE_KDF_NONE)
		return keyfile_decode(&r->keys, kf->data, kf->len, NULL, 0);
	if (!o || !o->pass)
		return repo_errf(err, -ENOKEY, "repository %s is encrypted:"
				 " a passphrase is needed", r->path);
	rc = o->pass(o->pass_ctx, "open", &pass);
	if (rc == 0)
		rc = keyfile_decode(&r->keys, kf->data, kf->len,
				    (char *)pass.data, pass.len);
	buf_wipe(&pass);
	if (rc == -EKEYREJECTED)
		return repo_errf(err, rc, "wrong passphrase for repository %s",
				 r->path);
	if (rc == -ENOKEY)
		return repo_errf(err, rc, "repository %s is encrypted:"
				 " a passphrase is needed", r->path);
	return rc;
}

static int repo_load_keys(struct repo *r, const struct repo_open_opts *o,
			  struct buf *err)
{
	struct buf path = BUF_INIT, kf = BUF_INIT;
	int rc;

	rc = repo_join(r, "keys/repokey", &path);
	if (rc == 0)
		rc = repo_read_file((char *)path.data, REPO_KEYFILE_MAX, &kf);
	if (rc < 0)
		repo_errf(err, rc, "cannot read %s: %s", (char *)path.data,
			  strerror(-rc));
	else
		rc = repo_unwrap(r, &kf, o, err);
	if (rc < 0 && err && !err->len)
		repo_errf(err, rc, "%s: %s", (char *)path.data,
			  strerror(-rc));
	buf_wipe(&kf);
	buf_release(&path);
	return rc;
}

/* index.db was deleted (to be rebuilt): drop its orphaned WAL files, or
 * SQLite would replay them into the new, empty database. */
static void repo_forget_wal(struct repo *r)
{
	static const char *const rel[] = { "index.db-wal", "index.db-shm" };
	struct buf p = BUF_INIT;

	for (size_t i = 0; i < 2; i++)
		if (repo_join(r, rel[i], &p) == 0)
			unlink((char *)p.data);
	buf_release(&p);
}

/*
 * A reader's index: read-only, sharing SQLite's side files with writers
 * when it can; otherwise (the side files cannot be created: a read-only
 * repository, a full disk) index.db alone, as an immutable file, with
 * the writer lock held shared so that no writer changes it meanwhile
 * (see store/index-ro.c for why both).
 */
static int repo_open_index_ro(struct repo *r, struct buf *err)
{
	struct buf path = BUF_INIT;
	int rc;

	r->ix_mode = REPO_IX_SHARED;
	rc = repo_index_open(r, &r->ix, err);
	if (rc != -EROFS)
		return rc;
	rc = repo_join(r, "lock", &path);
	if (rc == 0)
		rc = lock_writer_shared(&r->wshared, (char *)path.data,
					r->lock_wait, err);
	buf_release(&path);
	if (rc < 0)
		return rc;
	r->ix_mode = REPO_IX_IMMUTABLE;
	return repo_index_open(r, &r->ix, err);
}

/*
 * init always creates index.db: an empty one would silently hide every
 * snapshot (and let prune delete their data), so a missing one is
 * refused.  For a rebuild, a missing or damaged one is stood in for by
 * an empty in-memory index: nothing is created at the final path until
 * the rebuilt index is renamed there, whenever the rebuild is stopped.
 */
static int repo_open_index(struct repo *r, int rebuild, struct buf *err)
{
	struct buf path = BUF_INIT;
	struct stat st;
	int rc, missing;

	rc = repo_join(r, "index.db", &path);
	if (rc < 0)
		return rc;
	missing = stat((char *)path.data, &st) < 0 && errno == ENOENT;
	if (missing && !rebuild)
		rc = repo_errf(err, -ENOENT, "%s is missing; run `vault check"
			       " --rebuild-index` to rebuild it from the"
			       " packs", (char *)path.data);
	buf_release(&path);
	if (missing)
		repo_forget_wal(r);
	else if (rc == 0 && !r->wlock)
		rc = repo_open_index_ro(r, err);
	else if (rc == 0)
		rc = repo_index_open(r, &r->ix, err);
	if (rebuild && (missing || rc == -EBADMSG)) {
		if (err)
			buf_reset(err);
		r->ix_stand_in = 1;
		rc = index_open(&r->ix, ":memory:", err);
	}
	return rc;
}

/* Less free space than this is a full disk to a writer (index.db-shm
 * alone takes 32 KiB, a pack up to 16 MiB). */
#define REPO_MIN_FREE	(256u << 10)

/*
 * A writer stops here, before the passphrase is asked for, when this
 * process cannot write the repository (a read-only mount, permissions,
 * a full disk): one clear message naming the repository and the cause,
 * where SQLite or the lock would give an obscure one later.  A part that
 * is missing is not the question here (the lock is created, the index
 * rebuilt).  Root may use the blocks a file system reserves for it.
 */
static int repo_need_writable(const struct repo *r, struct buf *err)
{
	static const char *const rel[] = { "", "lock", "index.db", "packs",
					   "tmp" };
	struct buf p = BUF_INIT;
	struct statvfs vfs;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(rel) / sizeof(rel[0]); i++) {
		buf_reset(&p);
		rc = *rel[i] ? repo_join(r, rel[i], &p)
			     : buf_addstr(&p, r->path);
		if (rc == 0 && faccessat(AT_FDCWD, (char *)p.data, W_OK,
					 AT_EACCESS) < 0 && errno != ENOENT)
			rc = repo_errf(err, -EROFS, "repository %s cannot be"
				       " written (%s: %s)", r->path,
				       (char *)p.data, strerror(errno));
	}
	buf_release(&p);
	if (rc == 0 && statvfs(r->path, &vfs) == 0 &&
	    (uint64_t)(geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail) *
	    vfs.f_frsize < REPO_MIN_FREE)
		rc = repo_errf(err, -ENOSPC, "repository %s cannot be written:"
			       " its disk is full", r->path);
	return rc;
}

/* The writer's first write is its lock: a full disk shows there. */
static int repo_full(const struct repo *r, int rc, struct buf *err)
{
	struct buf why = BUF_INIT;

	if (err)
		buf_add(&why, err->data, err->len);
	repo_errf(err, rc, "repository %s cannot be written: its disk is"
		  " full (%s)", r->path,
		  why.len ? (char *)why.data : strerror(-rc));
	buf_release(&why);
	return rc;
}

static int repo_take_locks(struct repo *r, const struct repo_open_opts *o,
			   struct buf *err)
{
	struct buf path = BUF_INIT;
	int rc;

	rc = repo_join(r, o && o->write ? "lock" : "lock.read", &path);
	if (rc < 0)
		return rc;
	if (o && o->write) {
		rc = lock_writer(&r->wlock, (char *)path.data, o->command,
				 o->lock_wait, err);
		if (rc == -ENOSPC || rc == -EDQUOT)
			rc = repo_full(r, rc, err);
	} else	/* prune holds it exclusively only for moments */
		rc = lock_readers(&r->rlock, (char *)path.data, 0, -1, err);
	buf_release(&path);
	return rc;
}

/* Deletes the files of <repo>/<rel>: all of them, or (suffix) those
 * whose names end with suffix. */
static void repo_clean_dir(struct repo *r, const char *rel,
			   const char *suffix)
{
	struct buf p = BUF_INIT;
	struct dirent *de;
	size_t n, k = suffix ? strlen(suffix) : 0;
	DIR *d;
	int dfd;

	if (repo_join(r, rel, &p) < 0)
		return;
	d = opendir((char *)p.data);
	buf_release(&p);
	if (!d)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		n = strlen(de->d_name);
		if (de->d_name[0] == '.' ||
		    (suffix && (n <= k || strcmp(de->d_name + n - k, suffix))))
			continue;
		unlinkat(dfd, de->d_name, 0);
	}
	closedir(d);
}

/* Deletes whatever a dead writer left: everything in tmp/, and the
 * "<name>.tmp" files of atomic writes (repo_write_atomic) killed before
 * their rename, beside the key file (key passwd) and the restore logs.
 * Makes tmp/ again when it is missing: a copy of the repository made by
 * a file sync or kept in object storage, which keep no empty directory,
 * has none. */
static void repo_clean_tmp(struct repo *r)
{
	struct buf p = BUF_INIT;

	/* EEXIST is the usual case; tmp/'s users say what else fails */
	if (repo_join(r, "tmp", &p) == 0)
		(void)mkdir((char *)p.data, 0700);
	buf_release(&p);
	repo_clean_dir(r, "tmp", NULL);
	repo_clean_dir(r, "keys", ".tmp");
	repo_clean_dir(r, REPO_RESTORES_DIR, ".tmp");
}

int repo_open(struct repo **out, const char *dir,
	      const struct repo_open_opts *o, struct buf *err)
{
	struct repo *r;
	int rc;

	*out = NULL;
	if (sodium_init() < 0)
		return repo_errf(err, -EIO, "libsodium failed to initialize");
	r = calloc(1, sizeof(*r));
	if (!r || !(r->path = strdup(dir))) {
		free(r);
		return -ENOMEM;
	}
	r->lock_wait = o ? o->lock_wait : 0;
	rc = repo_load_config(r, err);
	if (rc == 0 && o && o->write)
		rc = repo_need_writable(r, err);
	if (rc == 0)
		rc = repo_load_keys(r, o, err);
	if (rc == 0)
		rc = repo_take_locks(r, o, err);
	if (rc == 0)
		rc = reader_cache_new(&r->cache);
	if (rc == 0)
		rc = repo_open_index(r, o && o->rebuild, err);
	if (rc == 0 && r->wlock) {
		repo_clean_tmp(r);
		/* a rebuild reads every pack anyway */
		if (!(o && o->rebuild))
			rc = inventory_import_orphans(r, err);
	}
	if (rc < 0) {
		repo_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void repo_free(struct repo *r)
{
	if (!r)
		return;
	index_free(r->ix);
	reader_cache_free(r->cache);
	lock_release(r->rlock);
	lock_release(r->wshared);
	lock_release(r->wlock);
	sodium_memzero(&r->keys, sizeof(r->keys));
	free(r->path);
	free(r);
}

const char *repo_path(const struct repo *r)
{
	return r->path;
}

int repo_encrypted(const struct repo *r)
{
	return r->cfg.encrypted;
}

void repo_id(const struct repo *r, char hex[65])
{
	hex_encode(hex, r->cfg.id, sizeof(r->cfg.id));
}

void repo_keyed_hash(const struct repo *r, const void *p, size_t n,
		     uint8_t out[32])
{
	repo_chunk_id(r, p, n, out);
}

int repo_writable(const struct repo *r)
{
	return r->wlock != NULL;
}

int repo_key_passwd(struct repo *r, const char *pass, size_t passlen,
		    struct buf *err)
{
	int replaced, rc = repo_need_writer(r, "changing the passphrase", err);

	if (rc < 0)
		return rc;
	if (!r->cfg.encrypted)
		return repo_errf(err, -EINVAL, "repository %s is not"
				 " encrypted; it has no passphrase", r->path);
	if (!pass)
		return repo_errf(err, -EINVAL, "no new passphrase given");
	rc = repo_write_keys(r, pass, passlen, &replaced, err);
	/* the caller must not take this for "nothing changed": whoever
	 * keeps only the old passphrase would be locked out */
	if (rc < 0 && replaced)
		repo_errf(err, rc, "the new passphrase is in effect, but"
			  " %s/keys could not be synced (%s), so a crash may"
			  " still bring the old one back: keep both", r->path,
			  strerror(-rc));
	return rc;
}

/* ---- snapshots --------------------------------------------------- */

/* Lowercases a hex prefix into out; -EINVAL unless 4..64 hex digits. */
static int repo_hex_prefix(const char *spec, char out[65])
{
	size_t n = strlen(spec);

	if (n < 4 || n > 64)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = spec[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -EINVAL;
		out[i] = c;
	}
	out[n] = '\0';
	return 0;
}

static int repo_ambiguous(struct buf *err, const char *spec,
			  char (*ids)[65], int n, int shown)
{
	if (!err)
		return -ENOTUNIQ;
	buf_reset(err);
	buf_addf(err, "snapshot prefix %s is ambiguous; candidates:", spec);
	for (int i = 0; i < shown; i++)
		buf_addf(err, " %s", ids[i]);
	if (n > shown)
		buf_addf(err, " (and %d more)", n - shown);
	return -ENOTUNIQ;
}

/*
 * The newest snapshot at or before t of one kind (safety or not) into
 * id.  Every name that means "the newest" comes here, so `latest` and
 * --at agree in every verb.  spec names the request in messages; NULL
 * for a time (the caller says which).
 */
static int repo_snapshot_newest(struct repo *r, int64_t t, int safety,
				const char *spec, char id[65], struct buf *err)
{
	const char *pre = spec ? spec : "", *sep = spec ? ": " : "";
	const char *when = spec ? "" : " by then";
	char other[65];
	int n = index_snap_at(r->ix, t, REPO_TAG_SAFETY, safety, id);

	if (n > 0)
		return 0;
	if (n == 0)
		n = index_snap_at(r->ix, t, REPO_TAG_SAFETY, !safety, other);
	if (n < 0)
		return repo_errf(err, n, "cannot read the index: %s%s",
				 strerror(-n), index_damage_hint(n));
	if (n == 0 && spec)
		return repo_errf(err, -ENOENT, "%s: the repository has no"
				 " snapshots", spec);
	if (n == 0)
		return repo_errf(err, -ENOENT, "no snapshot was taken by then");
	if (safety)
		return repo_errf(err, -ENOENT, "%s%sno safety snapshot was"
				 " taken%s", pre, sep, when);
	return repo_errf(err, -ENOENT, "%s%sonly safety snapshots (what a"
			 " restore replaced) were taken%s: name one by its id%s",
			 pre, sep, when, spec ? ", or as latest-safety" : "");
}

int repo_snapshot_resolve(struct repo *r, const char *spec, char id[65],
			  struct buf *err)
{
	char prefix[65], ids[8][65];
	int n;

	if (!spec)
		return repo_errf(err, -EINVAL, "no snapshot given");
	if (!strcmp(spec, "latest"))
		return repo_snapshot_newest(r, INT64_MAX, 0, spec, id, err);
	if (!strcmp(spec, "latest-safety"))
		return repo_snapshot_newest(r, INT64_MAX, 1, spec, id, err);
	if (repo_hex_prefix(spec, prefix) < 0)
		return repo_errf(err, -EINVAL, "bad snapshot id %s (want"
				 " \"latest\", \"latest-safety\" or 4 to 64"
				 " hex digits)", spec);
	n = index_snap_match(r->ix, prefix, ids, 8);
	if (n < 0)
		return repo_errf(err, n, "cannot read the index: %s%s",
				 strerror(-n), index_damage_hint(n));
	if (n == 0)
		return repo_errf(err, -ENOENT, "no snapshot %s", spec);
	if (n > 1)
		return repo_ambiguous(err, spec, ids, n, n < 8 ? n : 8);
	memcpy(id, ids[0], 65);
	return 0;
}

int repo_snapshot_at(struct repo *r, int64_t t, char id[65], struct buf *err)
{
	return repo_snapshot_newest(r, t, 0, NULL, id, err);
}

int repo_snapshot_info(struct repo *r, const char *id,
		       struct repo_snapinfo *out, struct buf *err)
{
	uint8_t raw[32];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!id || strlen(id) != 64 || hex_decode(raw, 32, id) < 0)
		return repo_errf(err, -EINVAL, "bad snapshot id %s",
				 id ? id : "(null)");
	rc = index_snap_get(r->ix, raw, out);
	if (rc == 0)
		return repo_errf(err, -ENOENT, "no snapshot %s", id);
	return rc < 0 ? repo_errf(err, rc, "cannot read the index: %s%s",
				  strerror(-rc), index_damage_hint(rc)) : 0;
}

int repo_snapshot_list(struct repo *r, const char *tag,
		       int (*cb)(const struct repo_snapinfo *, void *),
		       void *ctx, struct buf *err)
{
	return index_snap_list(r->ix, tag, cb, ctx, err);
}

int repo_stats(struct repo *r, struct repo_stats *s, struct buf *err)
{
	return index_stats(r->ix, s, err);
}
