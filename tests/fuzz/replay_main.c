/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main() for a fuzz target built without libFuzzer: run
 * LLVMFuzzerTestOneInput() once on every file named on the command line,
 * and on every regular file in every directory named (the committed
 * corpus). Each input gets a buffer of exactly its size, so ASan sees any
 * read past it. Exits 0 when every input ran, 1 when a file could not be
 * read or no input was found; a property violation aborts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static int replay_file(int dirfd, const char *name, unsigned long *count)
{
	struct stat st;
	uint8_t *buf;
	size_t used = 0;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* Exactly the file's size (malloc(0) may give NULL: keep 1). */
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return -1;
	}
	while (used < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + used, (size_t)st.st_size - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	LLVMFuzzerTestOneInput(buf, used);
	free(buf);
	(*count)++;
	return 0;
}

static int replay_dir(const char *path, unsigned long *count)
{
	struct dirent **names;
	int dfd, n, i, r = 0;

	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		close(dfd);
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct stat st;
		if (names[i]->d_name[0] != '.' &&
		    fstatat(dfd, names[i]->d_name, &st, 0) == 0 &&
		    S_ISREG(st.st_mode) &&
		    replay_file(dfd, names[i]->d_name, count) < 0)
			r = -1;
		free(names[i]);
	}
	free(names);
	close(dfd);
	return r;
}

int main(int argc, char **argv)
{
	unsigned long count = 0;
	int i, r = 0;

	for (i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
				strerror(errno));
			r = -1;
		} else if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) < 0)
				r = -1;
		} else if (replay_file(AT_FDCWD, argv[i], &count) < 0) {
			r = -1;
		}
	}
	printf("%s: replayed %lu input%s\n", argv[0], count,
	       count == 1 ? "" : "s");
	return r < 0 || count == 0 ? 1 : 0;
}
