/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session loop. Most of a FUSE request's cost on a small virtual
 * machine is not the daemon's work but the two wake-ups around it: the
 * caller's request wakes a sleeping worker, usually on the other CPU (an
 * IPI, and a halted vCPU brought back), and the reply wakes the caller.
 * Measured on 2 vCPUs (docs/benchmarks.md, "Spinning receiver"): a
 * negative LOOKUP costs the caller 47 us through a sleeping worker, 25 us
 * when a thread was already looking for the next request, native 6 us.
 *
 * So besides libfuse's workers (each on its own cloned /dev/fuse fd,
 * blocked in read) one receiver reads the session's own fd without
 * blocking for up to -o spin=US microseconds after its last request,
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
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Serve requests of the session fd until the session ends. */
static void *receive(void *arg)
{
	struct receiver *r = arg;
	struct fuse_session *se = r->se;
	struct fuse_buf buf = {.mem = NULL};
	struct pollfd p = {.fd = fuse_session_fd(se), .events = POLLIN};
	uint64_t last = now_us();
	int res;

	r->err = 0;
	while (!fuse_session_exited(se)) {
		res = fuse_session_receive_buf(se, &buf);
		if (res == -EAGAIN) {
			if (now_us() - last < r->spin_us) {
				sched_yield();
				continue;
			}
			/* A bounded sleep: a signal may end the session. */
			if (poll(&p, 1, 250) < 0 && errno != EINTR) {
				r->err = -errno;
				break;
			}
			last = now_us();
			continue;
		}
		if (res == -EINTR)
			continue;
		if (res <= 0) {
			/* 0: unmounted (libfuse ended the session) */
			r->err = res;
			break;
		}
		fuse_session_process_buf(se, &buf);
		last = now_us();
	}
	free(buf.mem);
	if (r->err < 0)
		fuse_session_exit(se);
	return NULL;
}

static bool nonblocking(struct fuse_session *se)
{
	int fd = fuse_session_fd(se), fl = fcntl(fd, F_GETFL);

	return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

/*
 * The receiver beside libfuse's workers. It blocks every signal, so that
 * the one that ends the daemon reaches a thread libfuse's loop waits on.
 */
static bool receiver_start(struct receiver *r, pthread_t *t)
{
	sigset_t all, old;
	bool ok;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ok = pthread_create(t, NULL, receive, r) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ok;
}

int sfs_loop(struct fuse_session *se, unsigned int spin_us, bool single,
	     unsigned int workers, unsigned int idle)
{
	struct receiver r = {.se = se, .spin_us = spin_us};
	struct fuse_loop_config *cfg;
	bool spin = spin_us > 0 && nonblocking(se);
	pthread_t t;
	int ret;

	if (spin_us > 0 && !spin)
		shift_log(SHIFT_LOG_WARNING,
			  "spin=%u: cannot make the FUSE fd non-blocking (%s): "
			  "not spinning",
			  spin_us, strerror(errno));
	if (single) {
		if (!spin)
			return fuse_session_loop(se);
		receive(&r);
		fuse_session_reset(se);
		return r.err;
	}
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, 1);
	fuse_loop_cfg_set_max_threads(cfg, workers);
	fuse_loop_cfg_set_idle_threads(cfg, idle);
	if (spin && !receiver_start(&r, &t)) {
		shift_log(SHIFT_LOG_WARNING, "spin=%u: no receiver thread: %s",
			  spin_us, strerror(errno));
		spin = false;
	}
	ret = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	if (spin) {
		fuse_session_exit(se);
		pthread_join(t, NULL);
		if (ret == 0 && r.err < 0)
			ret = r.err;
	}
	return ret;
}
