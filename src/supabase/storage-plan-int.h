/*
 * storage-plan-int: the plan as the parts of the Storage restore share
 * it (storage-plan.c builds it; storage-safety.c and storage-exec.c
 * carry it out).  Not for use outside those files.
 */
#ifndef VAULT_STORAGE_PLAN_INT_H
#define VAULT_STORAGE_PLAN_INT_H

#include <stdint.h>
#include "storage-plan.h"

enum storage_plan_act {
	STORAGE_PLAN_SKIP,		/* same size and eTag on the server */
	STORAGE_PLAN_NEW,
	STORAGE_PLAN_OVERWRITE,
};

/* An object of the snapshot. */
struct storage_plan_obj {
	char *bucket, *name, *path;	/* path: its manifest path */
	uint64_t size;
	char *etag, *ctype, *cache, *meta;
	enum storage_plan_act act;
};

/* An object on the server. */
struct storage_plan_remote {
	char *bucket, *name, *etag;
	uint64_t size;
	int keep;			/* in the snapshot's selection */
};

struct storage_plan_bucket {
	char *id;
	struct sb_storage_bucket cfg;
	int have_cfg;			/* .bucket.json was read */
	int exists, create, update;
};

/* A growing array of elements of one size. */
struct storage_plan_vec {
	void *v;
	size_t n, cap;
};

struct storage_plan {
	struct repo *r;
	const struct sb_env *env;
	struct storage_plan_opts o;
	struct sb_http *http;
	struct sb_storage *st;
	struct storage_plan_vec bk;	/* struct storage_plan_bucket */
	struct storage_plan_vec obj;	/* struct storage_plan_obj, manifest order */
	struct storage_plan_vec rem;	/* struct storage_plan_remote, sorted */
	struct storage_plan_vec del;	/* size_t: the mirror's deletes, into rem */
	size_t n_new, n_over, n_skip, n_create, n_update;
};

/* A new zeroed element at the end of v (elements of size bytes), or
 * NULL when out of memory. */
void *storage_plan_push(struct storage_plan_vec *v, size_t size);

/* The server's object bucket/name, or NULL. */
struct storage_plan_remote *storage_plan_remote_find(struct storage_plan *p,
						     const char *bucket,
						     const char *name);

/* 1 when object name is within opts.paths. */
int storage_plan_path_selected(const struct storage_plan *p,
			       const char *name);

/* Lists every selected bucket marked as existing into p->rem (sorted,
 * keep flags cleared). */
int storage_plan_list_remote(struct storage_plan *p, struct buf *err);

#endif
