/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Directory queues: at most one thread per source directory in the
 * requests that may wait on that directory's lock in unbounded numbers
 * (docs/SECURITY.md, "A directory lock held through a page fault").
 *
 * A host user who can read a directory below SRC can hold its lock for
 * as long as it likes (getdents64() into a mapping of a FUSE file of its
 * own whose READ it never answers, and a mkdir queued behind it). The
 * kernel sends lookups of new names one at a time per directory of the
 * mount, and creations, removals and renames too; but not two kinds:
 *
 *  - a LOOKUP that revalidates a cached entry whose timeout ran out
 *    (fuse_dentry_revalidate() takes no lock): every process that walks
 *    the name sends its own, and if the name is not in the source's
 *    dentry cache (unlinked while the daemon held its inode) the daemon's
 *    openat() waits for the directory lock;
 *  - READDIR and READDIRPLUS of different opens of one directory, whose
 *    getdents64() waits for it too.
 *
 * With one process per thread the attacker took every thread the daemon
 * had and the watchdog's 64 more (third red team, on 13f81af). So such a
 * request goes through the queue of its directory: if another request of
 * that directory is being served, it waits there, holding no thread, and
 * the thread that serves the directory's requests serves it next. A held
 * directory then holds one thread however many requests wait on it. A
 * LOOKUP whose every name is in the dentry cache (openat2()
 * RESOLVE_CACHED, which never waits on a lock) is answered at once,
 * without the queue.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

/* Directories with requests in flight here: few, so a list. */
struct busy_dir {
	struct sfs_inode *dir;
	struct sfs_dirq_job *head, **tail;
	struct busy_dir *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct busy_dir *busy;

static struct busy_dir **find(struct sfs_inode *dir)
{
	struct busy_dir **b;

	for (b = &busy; *b; b = &(*b)->next)
		if ((*b)->dir == dir)
			return b;
	return b;
}

void sfs_dirq_run(struct sfs_inode *dir, struct sfs_dirq_job *job)
{
	struct busy_dir **bp, *b;

	job->next = NULL;
	pthread_mutex_lock(&lock);
	bp = find(dir);
	if (*bp) {
		/* Served by the thread that has the directory. */
		*(*bp)->tail = job;
		(*bp)->tail = &job->next;
		pthread_mutex_unlock(&lock);
		return;
	}
	b = malloc(sizeof(*b));
	if (!b) {
		/* No queue: served here, as before the queues. */
		pthread_mutex_unlock(&lock);
		job->run(job);
		return;
	}
	b->dir = dir;
	b->head = NULL;
	b->tail = &b->head;
	b->next = NULL;
	*bp = b;
	pthread_mutex_unlock(&lock);
	for (;;) {
		job->run(job); /* replies; frees job */
		pthread_mutex_lock(&lock);
		job = b->head;
		if (job) {
			b->head = job->next;
			if (!b->head)
				b->tail = &b->head;
			pthread_mutex_unlock(&lock);
			continue;
		}
		*find(dir) = b->next;
		pthread_mutex_unlock(&lock);
		free(b);
		return;
	}
}
