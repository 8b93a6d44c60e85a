/*
 * restores: restore logs in restores/<id>.json (see restores.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "blob.h"
#include "repo-internal.h"
#include "restores.h"

#define RESTORES_MAX (BLOB_MAX_RAW)

int repo_restore_id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n >= REPO_RESTORE_ID_SIZE)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(id[i] == '-' || (id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'z') ||
		      (id[i] >= 'A' && id[i] <= 'Z')))
			return 0;
	return 1;
}

/* The id the blob is bound to: the log's own name, domain-separated
 * from chunk ids (which hash content, never this prefix). */
static void restores_ad(const struct repo *r, const char *id,
			uint8_t ad[BLOB_ID_SIZE])
{
	static const char dom[] = "vault-restore-log";	/* + its NUL */
	struct buf b = BUF_INIT;

	if (buf_add(&b, dom, sizeof(dom)) == 0 && buf_addstr(&b, id) == 0)
		repo_chunk_id(r, b.data, b.len, ad);
	else
		memset(ad, 0, BLOB_ID_SIZE);	/* out of memory: decode fails */
	buf_release(&b);
}

static int restores_path(const struct repo *r, const char *id,
			 struct buf *out)
{
	struct buf rel = BUF_INIT;
	int rc = buf_addf(&rel, REPO_RESTORES_DIR "/%s.json", id);

	if (rc == 0)
		rc = repo_join(r, (const char *)rel.data, out);
	buf_release(&rel);
	return rc;
}

int repo_restore_put(struct repo *r, const char *id, const void *json,
		     size_t n, struct buf *err)
{
	struct buf path = BUF_INIT, stored = BUF_INIT;
	uint8_t ad[BLOB_ID_SIZE];
	int rc;

	if (!repo_restore_id_ok(id))
		return repo_errf(err, -EINVAL, "bad restore id '%s'", id);
	rc = repo_join(r, REPO_RESTORES_DIR, &path);
	if (rc < 0)
		goto out;
	if (mkdir((const char *)path.data, 0700) < 0 && errno != EEXIST) {
		rc = repo_errf(err, -errno, "cannot create %s: %s",
			       (const char *)path.data, strerror(errno));
		goto out;
	}
	restores_ad(r, id, ad);
	rc = blob_encode(&stored, BLOB_DATA, json, n, repo_enc_key(r), ad);
	if (rc < 0) {
		repo_errf(err, rc, "cannot encode the restore log: %s",
			  strerror(-rc));
		goto out;
	}
	rc = restores_path(r, id, &path);
	if (rc == 0)
		rc = repo_write_atomic((const char *)path.data, stored.data,
				       stored.len, NULL, err);
out:
	buf_release(&path);
	buf_release(&stored);
	return rc;
}

int repo_restore_get(struct repo *r, const char *id, struct buf *out,
		     struct buf *err)
{
	struct buf path = BUF_INIT, stored = BUF_INIT;
	uint8_t ad[BLOB_ID_SIZE], type = 0;
	char tmp[8192];
	ssize_t k;
	int fd, rc;

	if (!repo_restore_id_ok(id))
		return repo_errf(err, -ENOENT, "no restore '%s'", id);
	rc = restores_path(r, id, &path);
	if (rc < 0)
		goto out;
	fd = open((const char *)path.data, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = repo_errf(err, -errno, errno == ENOENT ?
			       "no restore '%s'" : "cannot open restore log %s",
			       id);
		goto out;
	}
	while ((k = read(fd, tmp, sizeof(tmp))) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 || stored.len > RESTORES_MAX + 4096) {
			rc = k < 0 ? -errno : -EBADMSG;
			break;
		}
		rc = buf_add(&stored, tmp, (size_t)k);
		if (rc < 0)
			break;
	}
	close(fd);
	if (rc < 0) {
		repo_errf(err, rc, "cannot read restore log %s: %s", id,
			  strerror(-rc));
		goto out;
	}
	restores_ad(r, id, ad);
	rc = blob_decode(out, &type, stored.data, stored.len, repo_enc_key(r),
			 ad);
	if ((rc == 0 && type != BLOB_DATA) || rc == -ENOMSG)
		rc = -EBADMSG;	/* a log is one whole blob, never a delta */
	if (rc < 0)
		repo_errf(err, rc, "restore log %s is damaged: %s", id,
			  strerror(-rc));
out:
	buf_release(&path);
	buf_release(&stored);
	return rc;
}

static int restores_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void restores_ids_free(struct buf *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(((char **)names->data)[i]);
	buf_release(names);
}

/* The ids of restores/ (a vector of n strdup'ed names in names, sorted;
 * free with restores_ids_free even on error).  No directory: none. */
static int restores_ids(struct repo *r, struct buf *names, size_t *n,
			struct buf *err)
{
	struct buf path = BUF_INIT;
	struct dirent *de;
	DIR *d;
	int rc = repo_join(r, REPO_RESTORES_DIR, &path);

	*n = 0;
	if (rc < 0)
		return rc;
	d = opendir((const char *)path.data);
	if (!d) {
		rc = errno == ENOENT ? 0 :
		     repo_errf(err, -errno, "cannot read %s: %s",
			       (const char *)path.data, strerror(errno));
		buf_release(&path);
		return rc;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char *id;

		if (len <= 5 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		id = strndup(de->d_name, len - 5);
		if (!id || !repo_restore_id_ok(id)) {
			free(id);
			if (!id) {
				rc = -ENOMEM;
				break;
			}
			continue;
		}
		rc = buf_add(names, &id, sizeof(id));
		if (rc < 0) {
			free(id);
			break;
		}
		(*n)++;
	}
	closedir(d);
	buf_release(&path);
	if (rc == 0 && *n)
		qsort(names->data, *n, sizeof(char *), restores_cmp);
	return rc;
}

int repo_restore_list(struct repo *r, repo_restore_fn cb, void *ctx,
		      struct buf *err)
{
	struct buf names = BUF_INIT, doc = BUF_INIT;
	size_t n = 0;
	int rc = restores_ids(r, &names, &n, err);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *id = ((char **)names.data)[i];

		buf_reset(&doc);
		rc = repo_restore_get(r, id, &doc, err);
		if (rc == 0)
			rc = cb(ctx, id, (const char *)doc.data, doc.len);
	}
	restores_ids_free(&names, n);
	buf_release(&doc);
	return rc;
}

/* The 16-byte time stamp "YYYYMMDDTHHMMSSZ" of t; 0 or -ERANGE. */
static int restores_stamp(int64_t t, char out[17])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((int64_t)tt != t || !gmtime_r(&tt, &tm) ||
	    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		return -ERANGE;
	return 0;
}

/* The time of a stamp made by restores_stamp; 0 or -EINVAL. */
static int restores_unstamp(const char *id, int64_t *t)
{
	struct tm tm;
	const char *e;

	memset(&tm, 0, sizeof(tm));
	e = strptime(id, "%Y%m%dT%H%M%SZ", &tm);
	if (!e || e != id + 16)
		return -EINVAL;
	*t = (int64_t)timegm(&tm);
	return 0;
}

/* Parses "<stamp>-NNNN" (the current format): the sequence or -1. */
static int restores_seq(const char *id)
{
	int seq = 0;

	if (strlen(id) != 21 || id[16] != '-')
		return -1;
	for (int i = 17; i < 21; i++) {
		if (id[i] < '0' || id[i] > '9')
			return -1;
		seq = seq * 10 + (id[i] - '0');
	}
	return seq;
}

int repo_restore_new_id(struct repo *r, int64_t now, char *id,
			struct buf *err)
{
	char max[REPO_RESTORE_ID_SIZE] = "", stamp[17];
	struct buf names = BUF_INIT;
	int64_t t = now, mt;
	size_t n = 0;
	int seq = 0, rc;

	id[0] = 0;
	rc = restores_ids(r, &names, &n, err);
	if (rc == 0 && n)
		snprintf(max, sizeof(max), "%s", ((char **)names.data)[n - 1]);
	restores_ids_free(&names, n);
	if (rc < 0)
		return rc;
	if (restores_stamp(t, stamp) < 0)
		return repo_errf(err, -ERANGE, "the clock is out of range");
	snprintf(id, REPO_RESTORE_ID_SIZE, "%s-%04d", stamp, seq);
	if (strcmp(id, max) > 0)
		return 0;
	/* Same second as the newest log, or the clock went back: stay
	 * after it.  A legacy "<stamp>-<random hex>" id or a full
	 * sequence moves on to the next second. */
	if (restores_unstamp(max, &mt) < 0)
		return repo_errf(err, -ERANGE,
				 "restore log %s sorts after any new restore id",
				 max);
	seq = restores_seq(max);
	if (seq >= 0 && seq < 9999) {
		seq++;
	} else {
		mt++;
		seq = 0;
	}
	if (restores_stamp(mt, stamp) < 0)
		return repo_errf(err, -ERANGE, "the clock is out of range");
	snprintf(id, REPO_RESTORE_ID_SIZE, "%s-%04d", stamp, seq);
	if (strcmp(id, max) <= 0)	/* e.g. a hand-made "...Z-zz" name */
		return repo_errf(err, -ERANGE,
				 "restore log %s sorts after any new restore id",
				 max);
	return 0;
}
