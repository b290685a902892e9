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
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
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

/*
 * Held by the receiver while it handles a request. At the end
 * sfs_loop_quiesce() sets stopping and takes it: from then on the
 * receiver answers nothing. libfuse's fuse_session_unmount() closes the
 * session fd before the unmount and forgets it only after: a reply (or a
 * file the request opened, taking the fd's number) written meanwhile
 * could reach another file.
 */
static pthread_mutex_t handling = PTHREAD_MUTEX_INITIALIZER;
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
		pthread_mutex_lock(&handling);
		if (atomic_load(&stopping)) {
			/* Unanswered: the unmount fails it (ENOTCONN). */
			pthread_mutex_unlock(&handling);
			break;
		}
		fuse_session_process_buf(se, &buf);
		pthread_mutex_unlock(&handling);
		last = now_us();
	}
	free(buf.mem);
	if (r->err < 0)
		fuse_session_exit(se);
	return NULL;
}

/*
 * The receiver beside libfuse's workers. It blocks every signal, so that
 * the one that ends the daemon reaches a thread libfuse's loop waits on.
 */
static int receiver_start(struct receiver *r, pthread_t *t)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(t, NULL, receive, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

static struct receiver receiver;
static pthread_t receiver_thread;
static bool receiver_running;

int sfs_loop(struct fuse_session *se, unsigned int spin_us, bool single,
	     unsigned int workers, unsigned int idle)
{
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
	ret = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	/* libfuse's loop reset the session: ended for the receiver again */
	fuse_session_exit(se);
	if (ret == 0 && receiver_running && receiver.err < 0)
		ret = receiver.err;
	return ret;
}

bool sfs_loop_quiesce(void)
{
	struct timespec until;

	if (!receiver_running)
		return true;
	atomic_store(&stopping, true);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	if (pthread_mutex_timedlock(&handling, &until) != 0) {
		shift_log(SHIFT_LOG_WARNING,
			  "a request did not end in 2 s: exiting without "
			  "unmounting (the mount answers ENOTCONN until it "
			  "is unmounted)");
		return false;
	}
	pthread_mutex_unlock(&handling);
	return true;
}

bool sfs_loop_finish(void)
{
	struct timespec until;

	if (!receiver_running)
		return true;
	/*
	 * After the unmount: a receiver waiting in read() gets ENODEV then.
	 * If the connection lives on (the mount is still held elsewhere), the
	 * process exits with the session in place rather than free it under
	 * the receiver's feet.
	 */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	if (pthread_timedjoin_np(receiver_thread, NULL, &until) != 0)
		return false;
	receiver_running = false;
	return true;
}
