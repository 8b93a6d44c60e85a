/*
 * repo-config: the repository's settings that may change after init
 * (today: how new chunks are compressed), and writing the config file
 * that records them (formats/config.md).
 *
 * The config is replaced whole with repo_write_atomic, so a reader sees
 * the old file or the new one, never a mix; the writer lock keeps two
 * writers from racing each other's edits.
 */
#include <errno.h>
#include <string.h>

#include "repo-internal.h"

/* The two enums name the same values: repo.h's for the front end,
 * config.h's for the file. */
_Static_assert((int)REPO_COMPRESSION_FAST == (int)CONFIG_COMPRESSION_FAST &&
	       (int)REPO_COMPRESSION_MAX == (int)CONFIG_COMPRESSION_MAX,
	       "repo and config compression values differ");

int repo_compression_valid(enum repo_compression c)
{
	return config_compression_name((enum config_compression)c) != NULL;
}

int repo_compression_parse(const char *s, enum repo_compression *c)
{
	enum config_compression k;

	if (!s || config_compression_parse(s, &k) < 0)
		return -EINVAL;
	*c = (enum repo_compression)k;
	return 0;
}

const char *repo_compression_name(enum repo_compression c)
{
	const char *s = config_compression_name((enum config_compression)c);

	return s ? s : "?";
}

enum repo_compression repo_compression(const struct repo *r)
{
	return (enum repo_compression)r->cfg.compression;
}

int repo_write_config(const struct repo *r, int *replaced, struct buf *err)
{
	struct buf text = BUF_INIT, path = BUF_INIT;
	int rc;

	rc = config_encode(&text, &r->cfg);
	if (rc == 0)
		rc = repo_join(r, "config", &path);
	if (rc == 0)
		rc = repo_write_atomic((char *)path.data, text.data, text.len,
				       replaced, err);
	buf_release(&text);
	buf_release(&path);
	return rc;
}

int repo_set_compression(struct repo *r, enum repo_compression c,
			 struct buf *err)
{
	struct config old = r->cfg;
	int rc, replaced = 0;

	if (!repo_compression_valid(c))
		return repo_errf(err, -EINVAL, "unknown compression %d",
				 (int)c);
	rc = repo_need_writer(r, "changing the config", err);
	if (rc < 0)
		return rc;
	/* version 1 has no compression key: the file says it from now on */
	if (r->cfg.version < 2)
		r->cfg.version = 2;
	r->cfg.compression = (enum config_compression)c;
	rc = repo_write_config(r, &replaced, err);
	if (rc < 0 && !replaced) {
		r->cfg = old;
		if (err && !err->len)
			repo_errf(err, rc, "cannot write the config of %s: %s",
				  r->path, strerror(-rc));
	} else if (rc < 0 && err) {
		/* the new file is there; a crash might still bring the old
		 * one back, which would only undo the setting */
		buf_addf(err, " (the new config is in place, but a crash"
			 " could still bring back the old one)");
	}
	return rc;
}
