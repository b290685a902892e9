/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session loop. Most of a FUSE request's cost on a small virtual
 * machine is not the daemon's work but the two wake-ups around it: the
 * caller's request wakes a sleeping worker, usually on the other CPU (an
 * IPI, and a halted vCPU brought back), and the reply wakes the caller.
 * Measured on 2 vCPUs (docs/benchmarks.md, "Round trips are
 * wake-ups"): a negative LOOKUP costs the caller 47 us through a sleeping
 * worker, 25 us when a thread was already looking for the next request,
 * native 6 us.
 *
 * So besides libfuse's workers (each on its own cloned /dev/fuse fd,
 * blocked in read) one receiver polls the session's own fd with a zero
 * timeout for up to -o spin=US microseconds after its last request,
 * yielding the CPU between tries, and only then sleeps in poll(). A
 * sequential caller's next request is then picked up as soon as it is
 * queued. The spin is bounded: an idle mount costs no CPU, a busy one at
 * most US per request of spinning, and a worker on a cloned fd still
 * serves a request that comes while the receiver is busy with another (a
 * slow request never holds up the others). -o spin=0: libfuse's loop
 * alone, as before.
 *
 * A reply goes out on the fd its request came in on (the kernel finds the
 * request on that fd's processing list): the receiver's on the session fd,
 * through libfuse's public fuse_session_receive_buf()/process_buf().
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"

static uint64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

struct receiver {
	struct fuse_session *se;
	unsigned int spin_us;
	int err;
};

/*
 * Held (shared) by each receiver while it handles a request. At the end
 * sfs_loop_quiesce() sets stopping and takes it exclusively: from then on
 * no receiver answers anything. libfuse's fuse_session_unmount() closes the
 * session fd before the unmount and forgets it only after: a reply (or a
 * file the request opened, taking the fd's number) written meanwhile
 * could reach another file.
 */
static pthread_rwlock_t handling = PTHREAD_RWLOCK_INITIALIZER;
static atomic_bool stopping;

/*
 * Serve requests of the session fd until the session ends. The fd stays
 * blocking: libfuse falls back to it for a worker whose clone failed
 * (EMFILE, say), and such a worker would end the session on EAGAIN. So
 * readiness is asked with poll() (timeout 0 while spinning), and a request
 * another reader took meanwhile only makes the read wait for the next one.
 */
static void *receive(void *arg)
{
	struct receiver *r = arg;
	struct fuse_session *se = r->se;
	struct fuse_buf buf = {.mem = NULL};
	struct pollfd p = {.fd = fuse_session_fd(se), .events = POLLIN};
	uint64_t last = now_us();
	int res, n;

	r->err = 0;
	while (!fuse_session_exited(se)) {
		bool spinning = now_us() - last < r->spin_us;

		/* A bounded sleep: a signal may end the session. */
		n = poll(&p, 1, spinning ? 0 : 250);
		if (n < 0 && errno != EINTR) {
			r->err = -errno;
			break;
		}
		if (n <= 0) {
			if (spinning)
				sched_yield();
			continue;
		}
		res = fuse_session_receive_buf(se, &buf);
		if (res == -EINTR || res == -EAGAIN)
			continue;
		if (res <= 0) {
			/* 0: unmounted (libfuse ended the session) */
			r->err = res;
			break;
		}
		if (atomic_load(&stopping))
			break; /* unanswered: the unmount fails it (ENOTCONN) */
		pthread_rwlock_rdlock(&handling);
		if (atomic_load(&stopping)) {
			pthread_rwlock_unlock(&handling);
			break;
		}
		fuse_session_process_buf(se, &buf);
		pthread_rwlock_unlock(&handling);
		last = now_us();
	}
	free(buf.mem);
	if (r->err < 0)
		fuse_session_exit(se);
	return NULL;
}

int sfs_thread_start(void *(*fn)(void *), void *arg, pthread_t *t)
{
	pthread_attr_t attr;
	pthread_t detached;
	sigset_t all, old;
	int err;

	pthread_attr_init(&attr);
	if (!t)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(t ? t : &detached, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return err;
}

/* The receiver beside libfuse's workers (its signals blocked). */
static int receiver_start(struct receiver *r, pthread_t *t)
{
	return sfs_thread_start(receive, r, t);
}

static struct receiver receiver;
static pthread_t receiver_thread;
static bool receiver_running;

/*
 * The watchdog. A request can wait in the kernel for good (a lock a host
 * user holds on a directory of SRC, docs/SECURITY.md): a thread that sent
 * it is gone for the mount, and with all of them gone the mount hangs for
 * everyone. So when every serving thread has been inside a handler and
 * none has returned for SFS_STUCK_US, one more receiver (no spinning)
 * joins them, up to SFS_EXTRA_MAX: a held lock costs one thread, not the
 * mount. Extra receivers stay until the session ends.
 */
#define SFS_WATCH_US 250000u
#define SFS_STUCK_US 1000000u
#define SFS_EXTRA_MAX 64

static struct receiver extra[SFS_EXTRA_MAX];
static pthread_t extra_thread[SFS_EXTRA_MAX];
static unsigned int nextra; /* the watchdog's; read after it is joined */
static pthread_t watchdog_thread;
static bool watchdog_running;

struct watch {
	struct fuse_session *se;
	unsigned int serving; /* workers and the receiver */
};

/* libfuse's loop has returned (its workers joined); the thread in it. */
static atomic_bool loop_returned;
static pthread_t loop_thread;
#define SFS_EXIT_GRACE_US 3000000u

_Noreturn void sfs_loop_abandon(int status)
{
	char link[32], path[SFS_PROC_PATH_MAX];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	ssize_t n;

	/*
	 * A thread that waits on a lock of SRC for good cannot be killed
	 * (lookup_slow() waits uninterruptibly), so the process cannot
	 * finish exiting, and while its fd table lives the connection does
	 * too: every caller of the mount would wait on a daemon that
	 * answers nothing. With every /dev/fuse fd closed, the last one to
	 * go (when exit has ended the threads reading them) aborts the
	 * connection: the mount answers ENOTCONN until it is unmounted.
	 */
	while (dir && (d = readdir(dir))) {
		int fd = atoi(d->d_name);

		if (d->d_name[0] < '0' || d->d_name[0] > '9' ||
		    fd == dirfd(dir))
			continue;
		sfs_proc_path(path, sizeof(path), fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0 && (link[n] = '\0', !strcmp(link, "/dev/fuse")))
			close(fd);
	}
	if (dir)
		closedir(dir);
	_exit(status);
}

static void *watchdog(void *arg)
{
	struct watch *w = arg;
	uint64_t in, out, last = 0, since = now_us();

	while (!fuse_session_exited(w->se) && !atomic_load(&stopping)) {
		usleep(SFS_WATCH_US);
		sfs_stats_progress(&in, &out);
		if (out != last || in - out < w->serving + nextra) {
			last = out;
			since = now_us();
			continue;
		}
		if (now_us() - since < SFS_STUCK_US ||
		    nextra == SFS_EXTRA_MAX || atomic_load(&stopping))
			continue;
		extra[nextra].se = w->se;
		extra[nextra].spin_us = 0;
		if (receiver_start(&extra[nextra], &extra_thread[nextra]) != 0)
			continue;
		nextra++;
		shift_log(nextra == 1 ? SHIFT_LOG_WARNING : SHIFT_LOG_DEBUG,
			  "every thread has waited %u s on a request: one more "
			  "(%u added, at most %u)",
			  SFS_STUCK_US / 1000000u, nextra, SFS_EXTRA_MAX);
		since = now_us();
	}
	/*
	 * Ended by a signal or an unmount: libfuse's loop joins its workers,
	 * and one that waits in the kernel for good would keep the daemon
	 * (and the mount, hung) alive.
	 */
	since = now_us();
	while (!atomic_load(&loop_returned)) {
		/*
		 * libfuse 3.14's loop checks for the end, then waits in
		 * sem_wait(): a signal between the two is lost and it waits
		 * for good on a healthy mount. Another signal ends that wait
		 * (EINTR; libfuse's handler only ends the session again).
		 */
		pthread_kill(loop_thread, SIGTERM);
		if (now_us() - since >= SFS_EXIT_GRACE_US) {
			shift_log(SHIFT_LOG_WARNING,
				  "a request did not end in %u s: exiting "
				  "without unmounting (the mount answers "
				  "ENOTCONN until it is unmounted)",
				  SFS_EXIT_GRACE_US / 1000000u);
			sfs_loop_abandon(0);
		}
		usleep(SFS_WATCH_US / 5);
	}
	return NULL;
}

int sfs_loop(struct fuse_session *se, unsigned int spin_us, bool single,
	     unsigned int workers, unsigned int idle)
{
	static struct watch watch;
	struct fuse_loop_config *cfg;
	int ret;

	receiver.se = se;
	receiver.spin_us = spin_us;
	if (single) {
		if (!spin_us)
			return fuse_session_loop(se);
		receive(&receiver);
		fuse_session_reset(se);
		return receiver.err;
	}
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, 1);
	fuse_loop_cfg_set_max_threads(cfg, workers);
	fuse_loop_cfg_set_idle_threads(cfg, idle);
	if (spin_us) {
		int err = receiver_start(&receiver, &receiver_thread);

		receiver_running = err == 0;
		/* pthread_create() returns its error; errno is not it */
		if (err)
			shift_log(SHIFT_LOG_WARNING,
				  "spin=%u: no receiver thread: %s", spin_us,
				  strerror(err));
	}
	watch.se = se;
	watch.serving = workers + (receiver_running ? 1 : 0);
	loop_thread = pthread_self();
	watchdog_running =
		sfs_thread_start(watchdog, &watch, &watchdog_thread) == 0;
	ret = fuse_session_loop_mt(se, cfg);
	atomic_store(&loop_returned, true);
	fuse_loop_cfg_destroy(cfg);
	/* libfuse's loop reset the session: ended for the receiver again */
	fuse_session_exit(se);
	if (watchdog_running)
		pthread_join(watchdog_thread, NULL);
	watchdog_running = false;
	if (ret == 0 && receiver_running && receiver.err < 0)
		ret = receiver.err;
	return ret;
}

bool sfs_loop_quiesce(void)
{
	struct timespec until;

	if (!receiver_running && !nextra)
		return true;
	atomic_store(&stopping, true);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	if (pthread_rwlock_timedwrlock(&handling, &until) != 0) {
		shift_log(SHIFT_LOG_WARNING,
			  "a request did not end in 2 s: exiting without "
			  "unmounting (the mount answers ENOTCONN until it "
			  "is unmounted)");
		return false;
	}
	pthread_rwlock_unlock(&handling);
	return true;
}

bool sfs_loop_finish(void)
{
	struct timespec until;
	bool all = true;
	unsigned int i;

	/*
	 * After the unmount: a receiver waiting in read() gets ENODEV then.
	 * If the connection lives on (the mount is still held elsewhere), the
	 * process exits with the session in place rather than free it under
	 * a receiver's feet.
	 */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	if (receiver_running) {
		if (pthread_timedjoin_np(receiver_thread, NULL, &until) != 0)
			all = false;
		else
			receiver_running = false;
	}
	for (i = 0; i < nextra; i++)
		if (pthread_timedjoin_np(extra_thread[i], NULL, &until) != 0)
			all = false;
	if (all)
		nextra = 0;
	return all;
}
