/*
 * lock: flock(2)-based writer and readers locks (see lock.h).
 *
 * The writer lock file is never unlinked by its holder: unlinking would
 * let a second process lock a fresh inode while a third still waits on
 * the old one.  Only a stale file (naming a dead pid on this host while
 * something else still holds the flock, e.g. an inherited descriptor) is
 * unlinked, and every acquirer checks after flock that the path still
 * names the inode it locked.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "lock.h"

#define LOCK_POLL_NS	(100 * 1000 * 1000)
#define LOCK_INFO_MAX	4096

struct lock {
	int fd;
	int writer;
};

struct lock_holder {
	char host[256];
	char command[512];
	char since[64];
	long pid;
};

static double lock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void lock_sleep(void)
{
	struct timespec ts = { 0, LOCK_POLL_NS };

	nanosleep(&ts, NULL);
}

/* "cannot <what> <path>: <reason>" */
static int lock_fail(struct buf *err, int rc, const char *what,
		     const char *path)
{
	if (err) {
		buf_reset(err);
		buf_addf(err, "cannot %s %s: %s", what, path, strerror(-rc));
	}
	return rc;
}

/* Copies the rest of a "key value" line into out. */
static void lock_field(const char *line, size_t len, char *out, size_t cap)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(out, line, len);
	out[len] = '\0';
}

static void lock_parse(const char *text, struct lock_holder *h)
{
	const char *p = text, *nl, *sp;
	char num[32];
	char *end;

	memset(h, 0, sizeof(*h));
	h->pid = -1;
	for (; *p; p = *nl ? nl + 1 : nl) {
		nl = strchrnul(p, '\n');
		sp = memchr(p, ' ', (size_t)(nl - p));
		if (!sp)
			continue;
		sp++;
		if (!strncmp(p, "host ", 5))
			lock_field(sp, (size_t)(nl - sp), h->host, sizeof(h->host));
		else if (!strncmp(p, "command ", 8))
			lock_field(sp, (size_t)(nl - sp), h->command,
				   sizeof(h->command));
		else if (!strncmp(p, "since ", 6))
			lock_field(sp, (size_t)(nl - sp), h->since,
				   sizeof(h->since));
		else if (!strncmp(p, "pid ", 4)) {
			lock_field(sp, (size_t)(nl - sp), num, sizeof(num));
			errno = 0;
			h->pid = strtol(num, &end, 10);
			if (errno || end == num || *end || h->pid <= 0)
				h->pid = -1;
		}
	}
}

static void lock_read_holder(int fd, struct lock_holder *h)
{
	char text[LOCK_INFO_MAX];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

	text[n > 0 ? n : 0] = '\0';
	lock_parse(text, h);
}

static void lock_hostname(char *out, size_t cap)
{
	if (gethostname(out, cap) < 0)
		snprintf(out, cap, "unknown");
	out[cap - 1] = '\0';
}

/* A holder on this host whose pid no longer exists. */
static int lock_stale(const struct lock_holder *h)
{
	char host[256];

	if (h->pid <= 0 || !h->host[0])
		return 0;
	lock_hostname(host, sizeof(host));
	if (strcmp(host, h->host))
		return 0;
	return kill((pid_t)h->pid, 0) < 0 && errno == ESRCH;
}

static int lock_write_info(int fd, const char *command)
{
	char host[256], since[64];
	struct buf b = BUF_INIT;
	struct tm tm;
	time_t now = time(NULL);
	ssize_t n;
	int rc;

	lock_hostname(host, sizeof(host));
	gmtime_r(&now, &tm);
	strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	rc = buf_addf(&b, "host %s\npid %ld\ncommand %s\nsince %s\n", host,
		      (long)getpid(), command ? command : "vault", since);
	if (rc == 0 && ftruncate(fd, 0) < 0)
		rc = -errno;
	if (rc == 0) {
		n = pwrite(fd, b.data, b.len, 0);
		if (n < 0 || (size_t)n != b.len)
			rc = n < 0 ? -errno : -EIO;
	}
	buf_release(&b);
	return rc;
}

/* 1 when fd is still the file at path (nobody replaced it), else 0. */
static int lock_same_file(int fd, const char *path)
{
	struct stat a, b;

	if (fstat(fd, &a) < 0 || stat(path, &b) < 0)
		return 0;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int lock_busy(struct buf *err, const struct lock_holder *h)
{
	if (!err)
		return -EBUSY;
	buf_reset(err);
	if (h->pid <= 0 && !h->host[0])
		/* a writer records itself at once, so this is most likely a
		 * reader that cannot write the repository (lock_writer_shared),
		 * or a writer in the instant before it records itself */
		buf_addf(err, "repository is in use by a process that did not"
			 " record itself in the lock: a reader that cannot"
			 " write the repository (read-only, or its disk full)"
			 " keeps writers out while it reads");
	else
		buf_addf(err, "repository is locked by pid %ld on host %s"
			 " (%s) since %s", h->pid,
			 h->host[0] ? h->host : "?",
			 h->command[0] ? h->command : "?",
			 h->since[0] ? h->since : "?");
	return -EBUSY;
}

/* One attempt: 1 locked (*fdp set), 0 busy (*h filled), <0 error. */
static int lock_try_writer(const char *path, int *fdp,
			   struct lock_holder *h, struct buf *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return lock_fail(err, -errno, "open lock", path);
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		if (!lock_same_file(fd, path)) {
			/* replaced by a stale-lock takeover: start over */
			close(fd);
			h->pid = -2;
			return 0;
		}
		*fdp = fd;
		return 1;
	}
	if (errno != EWOULDBLOCK) {
		int e = -errno;

		close(fd);
		return lock_fail(err, e, "lock", path);
	}
	lock_read_holder(fd, h);
	if (lock_stale(h) && lock_same_file(fd, path)) {
		unlink(path);
		h->pid = -2;	/* retry at once */
	}
	close(fd);
	return 0;
}

int lock_writer(struct lock **l, const char *path, const char *command,
		int wait_s, struct buf *err)
{
	double deadline = lock_now() + (wait_s > 0 ? wait_s : 0);
	struct lock_holder h;
	int fd = -1, rc;

	*l = NULL;
	for (;;) {
		rc = lock_try_writer(path, &fd, &h, err);
		if (rc < 0)
			return rc;
		if (rc == 1)
			break;
		if (h.pid == -2)
			continue;
		if (lock_now() >= deadline)
			return lock_busy(err, &h);
		lock_sleep();
	}
	rc = lock_write_info(fd, command);
	if (rc == 0)
		*l = calloc(1, sizeof(**l));
	if (!*l) {
		close(fd);
		return lock_fail(err, rc ? rc : -ENOMEM,
				 "write lock", path);
	}
	(*l)->fd = fd;
	(*l)->writer = 1;
	return 0;
}

/*
 * flock(fd, op), polling until deadline when wait_s >= 0 (blocking when
 * wait_s < 0).  0, -EWOULDBLOCK when still busy at the deadline, or
 * another -errno.
 */
static int lock_flock_wait(int fd, int op, int wait_s)
{
	double deadline = lock_now() + (wait_s > 0 ? wait_s : 0);

	int e;

	for (;;) {
		if (flock(fd, op | (wait_s < 0 ? 0 : LOCK_NB)) == 0)
			return 0;
		e = errno;
		if (e == EINTR)
			continue;
		if (e != EWOULDBLOCK || lock_now() >= deadline)
			return -e;
		lock_sleep();
	}
}

/* *l = a lock owning fd (-1: one that locks nothing); closes fd when out
 * of memory. */
static int lock_new(struct lock **l, int fd)
{
	*l = calloc(1, sizeof(**l));
	if (!*l) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	(*l)->fd = fd;
	return 0;
}

/*
 * A descriptor to flock lock.read through (flock needs no write access):
 * the file read-only, or created when missing.  -1 with errno when it
 * neither exists nor can be created.
 */
static int lock_open_readers(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	return fd;
}

int lock_readers(struct lock **l, const char *path, int exclusive,
		 int wait_s, struct buf *err)
{
	int op = exclusive ? LOCK_EX : LOCK_SH;
	int fd, rc;

	*l = NULL;
	/* a reader without the file is on a read-only or full repository,
	 * where nothing can delete what it reads; the exclusive side is
	 * about to delete it, and must lock */
	fd = lock_open_readers(path);
	if (fd < 0 && exclusive)
		return lock_fail(err, -errno, "open lock", path);
	rc = lock_new(l, fd);
	if (rc < 0 || fd < 0)
		return rc;
	rc = lock_flock_wait(fd, op, wait_s);
	if (rc == 0)
		return 0;
	lock_release(*l);
	*l = NULL;
	if (rc == -EWOULDBLOCK) {
		if (err) {
			buf_reset(err);
			buf_addf(err, "%s: the repository is in use by %s",
				 path, exclusive ? "readers (ls, cat, mount,"
				 " check)" : "prune");
		}
		return -EBUSY;
	}
	return lock_fail(err, rc, "lock", path);
}

int lock_writer_shared(struct lock **l, const char *path, int wait_s,
		       struct buf *err)
{
	struct lock_holder h;
	int fd, rc;

	*l = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	/* no lock file: no writer could have started */
	if (fd < 0 && errno != ENOENT)
		return lock_fail(err, -errno, "open lock", path);
	rc = lock_new(l, fd);
	if (rc < 0 || fd < 0)
		return rc;
	rc = lock_flock_wait(fd, LOCK_SH, wait_s);
	if (rc == 0)
		return 0;
	if (rc == -EWOULDBLOCK)
		lock_read_holder(fd, &h);
	lock_release(*l);
	*l = NULL;
	return rc == -EWOULDBLOCK ? lock_busy(err, &h)
				  : lock_fail(err, rc, "lock", path);
}

void lock_release(struct lock *l)
{
	if (!l)
		return;
	if (l->fd >= 0) {
		/* An empty file reads as "no holder" to the curious. */
		if (l->writer && ftruncate(l->fd, 0) < 0) {
			/* harmless: the flock is what counts */
		}
		close(l->fd);
	}
	free(l);
}
