/*
 * slowfs: a FUSE file system that stands for a hung NFS server, so that
 * the tests can show what fingerd does when a home stops answering.
 *
 *	slowfs BACKING_DIR MOUNTPOINT CONTROL_FILE [fuse options]
 *
 * It mirrors BACKING_DIR read only (mounted ro: every write is EROFS).
 * Before it answers getattr (which the high-level API's lookup is too),
 * open or read, it reads CONTROL_FILE, and again every 10 ms while it
 * holds the request: missing, empty or not a number, it answers at once;
 * a number N, once the request has been held N ms; "hang", not while the
 * file says so; "hang-workers=PID", the same for the requests of the
 * processes whose parent's parent is PID (the children that the
 * workers of the daemon PID open the homes in), the others at once;
 * "eio": at once, but every read fails with EIO (a disk or a server
 * that errs).  CONTROL_FILE.count holds "RECEIVED HELD\n": how many
 * such requests came so far and how many are held now, then a line for
 * each held one with the thread that asked (so that a test can tell whose
 * they are), replaced (rename) at each change, so a test knows that a
 * request reached slowfs and waits.
 *
 * Like a hard NFS mount it ignores interrupts: a held request goes only
 * when the control file says so or slowfs ends, with EIO.  SIGTERM ends
 * it and unmounts (exit status 8: fuse_main's for a signal); so does
 * fusermount3 -u or umount -l, once the kernel drops the file system
 * (exit status 0).  The kernel caches nothing: no attribute, entry or
 * negative entry, and direct_io sends every read here (with keep_cache
 * merely off, a read could still be served from the page cache filled by
 * readahead within one open).  Multi-threaded: a held request holds its
 * own thread only, up to 64 of them.
 */
#define FUSE_USE_VERSION 31

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fuse.h>
#include <fuse_lowlevel.h>

static int backing = -1;
static const char *control;
static char count_path[4096], count_tmp[4096];
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long received, held;
static pid_t holders[64];	/* the threads whose requests are held */

/* The path in the backing directory (relative to its descriptor). */
static const char *
rel(const char *path)
{
	return path[1] == '\0' ? "." : path + 1;
}

/*
 * A request of thread pid arrives (1) or leaves (-1); 0 writes the count
 * only.
 */
static void
tally(pid_t pid, int delta)
{
	size_t i;
	FILE *f;

	pthread_mutex_lock(&count_lock);
	received += delta > 0;
	held += delta;
	for (i = 0; delta != 0 && i < sizeof(holders) / sizeof(holders[0]);
	    i++)
		if (holders[i] == (delta > 0 ? 0 : pid)) {
			holders[i] = delta > 0 ? pid : 0;
			break;
		}
	if ((f = fopen(count_tmp, "w")) != NULL) {
		fprintf(f, "%lu %lu\n", received, held);
		for (i = 0; i < sizeof(holders) / sizeof(holders[0]); i++)
			if (holders[i] != 0)
				fprintf(f, "%d\n", (int)holders[i]);
		if (fclose(f) == 0)
			rename(count_tmp, count_path);
	}
	pthread_mutex_unlock(&count_lock);
}

/* The control file's first word into buf; "" when none. */
static void
control_word(char *buf, size_t size)
{
	ssize_t n = -1;
	int fd;

	if ((fd = open(control, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, size - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, " \t\r\n")] = '\0';
}

/* The parent of process (or thread) pid, from /proc; -1 if gone. */
static long
parent_of(long pid)
{
	char path[64], line[256];
	long parent = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "PPid: %ld", &parent) == 1)
			break;
	fclose(f);
	return parent;
}

/*
 * The control file's delay in ms for a request of pid: -1 for "hang",
 * 0 for none.
 */
static long
delay(pid_t pid)
{
	char buf[64], *end;
	long ms, daemon;

	control_word(buf, sizeof(buf));
	if (strcmp(buf, "hang") == 0)
		return -1;
	if (sscanf(buf, "hang-workers=%ld", &daemon) == 1)
		return parent_of(parent_of(pid)) == daemon ? -1 : 0;
	ms = strtol(buf, &end, 10);
	return *end == '\0' && ms > 0 ? ms : 0;
}

/* Holds a request as the control file says; -EIO if slowfs is ending. */
static int
gate(void)
{
	struct fuse_session *se = fuse_get_session(fuse_get_context()->fuse);
	pid_t pid = fuse_get_context()->pid;
	struct timespec tick = { 0, 10 * 1000000 };
	long ms, waited;
	int error = 0;

	tally(pid, 1);
	for (waited = 0; (ms = delay(pid)) < 0 || waited < ms; waited += 10) {
		if (fuse_session_exited(se)) {
			error = -EIO;
			break;
		}
		nanosleep(&tick, NULL);
	}
	tally(pid, -1);
	return error;
}

static int
slowfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	int error;

	(void)fi;
	if ((error = gate()) != 0)
		return error;
	return fstatat(backing, rel(path), st, AT_SYMLINK_NOFOLLOW) == 0 ?
	    0 : -errno;
}

static int
slowfs_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n = readlinkat(backing, rel(path), buf, size - 1);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int
slowfs_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
    off_t offset, struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct dirent *e;
	DIR *d;
	int fd;

	(void)offset, (void)fi, (void)flags;
	if ((fd = openat(backing, rel(path), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		return -errno;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d)) != NULL)
		if (fill(buf, e->d_name, NULL, 0, 0) != 0)
			break;
	closedir(d);
	return 0;
}

static int
slowfs_open(const char *path, struct fuse_file_info *fi)
{
	int error, fd;

	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	if ((error = gate()) != 0)
		return error;
	if ((fd = openat(backing, rel(path), O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int
slowfs_read(const char *path, char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	char word[32];
	ssize_t n;
	int error;

	(void)path;
	if ((error = gate()) != 0)
		return error;
	control_word(word, sizeof(word));
	if (strcmp(word, "eio") == 0)
		return -EIO;
	n = pread((int)fi->fh, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int
slowfs_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close((int)fi->fh);
	return 0;
}

static void *
slowfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->attr_timeout = cfg->entry_timeout = cfg->negative_timeout = 0;
	cfg->direct_io = 1;
	cfg->kernel_cache = 0;
	cfg->use_ino = 1;
	return NULL;
}

static const struct fuse_operations slowfs_ops = {
	.init = slowfs_init,
	.getattr = slowfs_getattr,
	.readlink = slowfs_readlink,
	.readdir = slowfs_readdir,
	.open = slowfs_open,
	.read = slowfs_read,
	.release = slowfs_release,
};

int
main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	int i, status;

	if (argc < 4) {
		fprintf(stderr, "usage: slowfs BACKING_DIR MOUNTPOINT "
		    "CONTROL_FILE [fuse options]\n");
		return 2;
	}
	if ((backing = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		perror(argv[1]);
		return 1;
	}
	control = argv[3];
	snprintf(count_path, sizeof(count_path), "%s.count", control);
	snprintf(count_tmp, sizeof(count_tmp), "%s.count.tmp", control);
	tally(0, 0);
	/* Foreground, threads enough for many held requests; then theirs. */
	fuse_opt_add_arg(&args, argv[0]);
	fuse_opt_add_arg(&args, argv[2]);
	fuse_opt_add_arg(&args, "-f");
	fuse_opt_add_arg(&args, "-oro,allow_other,default_permissions,"
	    "fsname=slowfs,subtype=slowfs,max_threads=64");
	for (i = 4; i < argc; i++)
		fuse_opt_add_arg(&args, argv[i]);
	status = fuse_main(args.argc, args.argv, &slowfs_ops, NULL);
	fuse_opt_free_args(&args);
	return status;
}
