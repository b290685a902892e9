/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A mount (or a volume's dry run) in a child process: the mount engine
 * and the map builder die() on a refusal, with the message the user
 * should see; the server must live on and hand that message to the
 * engine as the request's Err. The child's stderr and its result go to
 * memory files (memfd), read once it has exited, so that neither side
 * can block on a full pipe and a FUSE daemon the child starts (which
 * replaces its stdout and stderr with its log) holds nothing of ours.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "plugin_int.h"
#include "shiftctl.h"

/* The whole memfd as a string (malloc'd), or NULL. */
static char *slurp(int fd)
{
	struct stat st;
	char *buf;
	ssize_t n;

	if (fstat(fd, &st) < 0 || st.st_size > 1 << 20)
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return NULL;
	n = pread(fd, buf, (size_t)st.st_size, 0);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* A line of die(): "shiftctl: MSG" or "shiftctl VERB: MSG", no warning. */
static bool from_us(const char *p, const char *end)
{
	size_t plen = strlen(program_name);
	const char *c;

	if ((size_t)(end - p) <= plen || strncmp(p, program_name, plen) ||
	    (p[plen] != ':' && p[plen] != ' '))
		return false;
	c = memchr(p + plen, ':', end - p - plen);
	return c && strncmp(c, ": warning:", 10);
}

/* The last line of ours that is not "Try '... --help'" or a warning (else
 * the last line), without our prefix. */
static void last_message(const char *text, char *err, size_t len)
{
	const char *p = text, *best = NULL, *best_end = NULL;
	size_t plen = strlen(program_name);
	bool ours = false;

	while (p && *p) {
		const char *end = strchr(p, '\n');

		if (!end)
			end = p + strlen(p);
		/* ours ("shiftctl: ..."), not a warning; else any line */
		if (end > p && strncmp(p, "Try '", 5) &&
		    (!best || !ours || from_us(p, end))) {
			ours = from_us(p, end);
			best = p;
			best_end = end;
		}
		p = *end ? end + 1 : NULL;
	}
	if (!best) {
		snprintf(err, len, "failed (no message)");
		return;
	}
	/* "shiftctl: " or "shiftctl VERB: " */
	if (!strncmp(best, program_name, plen)) {
		const char *c =
			memchr(best + plen, ':', best_end - best - plen);

		if (c && c + 2 <= best_end && c - best < 40)
			best = c + 2;
	}
	/* "--user=bob: ..." is the volume's "user=bob" */
	if (!strncmp(best, "--", 2) && best_end - best > 2)
		snprintf(err, len, "option %.*s", (int)(best_end - best - 2),
			 best + 2);
	else
		snprintf(err, len, "%.*s", (int)(best_end - best), best);
}

static void child_exit(int status, void *arg)
{
	(void)arg;
	fflush(NULL);
	_exit(status);
}

int child_run(child_fn fn, void *ctx, char **out, char *err, size_t len)
{
	_cleanup_close_ int efd = memfd_create("plugin-err", MFD_CLOEXEC);
	_cleanup_close_ int ofd = memfd_create("plugin-out", MFD_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	int status;
	pid_t pid;

	if (out)
		*out = NULL;
	if (efd < 0 || ofd < 0) {
		snprintf(err, len, "memfd_create: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		snprintf(err, len, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* a die() in the child ends it at once, after the handlers
		 * it registered itself (doctor's image cleanup): nothing of
		 * the server's process (a leak check of its heap) runs */
		on_exit(child_exit, NULL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		dup2(efd, STDERR_FILENO);
		fn(ctx, ofd);
		fflush(NULL);
		_exit(EXIT_OK);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, len, "waitpid: %s", strerror(errno));
			return -1;
		}
	text = slurp(efd);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (text && text[0])
			last_message(text, err, len);
		else if (WIFSIGNALED(status))
			snprintf(err, len, "killed by signal %d",
				 WTERMSIG(status));
		else
			snprintf(err, len, "failed (exit %d)",
				 WEXITSTATUS(status));
		return -1;
	}
	if (out)
		*out = slurp(ofd);
	return 0;
}
