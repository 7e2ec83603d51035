/*
 * Power-loss model for the journal tests (terminal/tests/journal_powerloss.rs).
 *
 * An LD_PRELOAD library that keeps, for every file in one directory
 * (EMV_POWERLOSS_DIR), enough to bring it back to its last durable image: the
 * state a disk would hold after a power cut if every write not made durable by
 * fsync/fdatasync were lost. The state lives in EMV_POWERLOSS_STATE (same file
 * system, outside the tracked directory) and is written with plain write():
 * the page cache survives SIGKILL, so the test can "cut the power" by killing
 * the processes and then roll the tracked files back (the Rust side of the
 * test does that, from the formats below).
 *
 * Modelled, strictly as POSIX promises it:
 *  - Data. Before every write, pwrite, writev, pwritev, ftruncate and
 *    fallocate of a tracked file, and before open(O_TRUNC) of one, the
 *    pre-image of the bytes about to change and the old size are appended to
 *    undo/<dev>-<ino> (the file's inode, so renames keep it). fsync or
 *    fdatasync of the file makes its data durable: its undo log is deleted.
 *    sync_file_range is not a durability barrier (no metadata, no cache
 *    flush) and does nothing here. sync() and syncfs() make everything durable.
 *  - Names. Creating a file (open O_CREAT of a missing name, link), unlinking
 *    one and renaming within the directory are durable only after an fsync of
 *    the directory itself. Each is appended to dir.log before it is done;
 *    unlinked files and files replaced by a rename stay reachable through a
 *    hard link in hidden/, so the rollback can put them back. An fsync (or
 *    fdatasync) of the directory makes all of them durable.
 *  - Files whose name ends in "-shm" (SQLite's wal-index, rebuilt from the WAL
 *    by the first connection after a crash, never durable state) are not
 *    tracked; the rollback deletes them.
 * Not modelled, so refused (abort with a message, failing the test loudly):
 * writable shared mmap of a tracked file, copy_file_range/sendfile/splice
 * into one, renames into or out of the directory, RENAME_EXCHANGE/WHITEOUT.
 * Torn writes (part of an unsynced write surviving) are not modelled either:
 * every unsynced write is lost, the harshest case of the ordered model.
 *
 * Cutting at an operation: STATE/ops holds two little-endian u64, the number of
 * tracked operations so far (writes, truncations, fsyncs of tracked files and
 * of the directory, creations, renames, unlinks; every process counts into the
 * same file) and a target. The operation that brings the count to the target,
 * and every later one in any process, is not carried out: the process kills
 * itself with SIGKILL instead, so the power goes off just before that
 * operation, for every process at once. Target 0: no cut.
 *
 * The shim never closes a descriptor of a tracked file that SQLite may hold
 * locks through (see before_change): POSIX locks are per process and file, and
 * any close drops them all.
 *
 * Every record is appended before the operation it undoes is carried out,
 * under one lock (a mutex and flock on STATE/lock) shared by all processes,
 * which also covers the operation itself and fsync's clearing of the log, so
 * a write of another process cannot slip between an fsync and the deletion
 * of the log it covers. A SIGKILL between a record and its operation leaves
 * a record whose undo is a no-op; a SIGKILL inside a record's append leaves a
 * partial record at the end, which the rollback ignores (its operation never
 * ran).
 *
 * undo/<dev>-<ino>: records of 32-byte header (u32 magic "PLU1" little
 * endian, u32 zero, u64 offset, u64 old size, u64 length) followed by
 * `length` old bytes, taken from [offset, offset + length) of the file as it
 * was (length stops at the old size). Undo, newest first: truncate to the old
 * size, then write the old bytes back at the offset.
 *
 * dir.log: lines "C\t<name>" (created), "U\t<name>\t<hidden>" (unlinked,
 * the file kept as hidden/<hidden>), "R\t<old>\t<new>\t<hidden or ->"
 * (renamed, the file it replaced kept as hidden/<hidden>).
 *
 * Built by the test: cc -shared -fPIC -O2 -Wall -Wno-format-truncation -o libpowerloss.so
 *                   preload.c -ldl
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define UNDO_MAGIC 0x31554c50u /* "PLU1" */

static char tracked_dir[PATH_MAX];
static char state_dir[PATH_MAX];
static int active;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t mutex = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static int lock_fd = -1;
static int ops_fd = -1;
static unsigned long hidden_counter;

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off64_t);
static ssize_t (*real_pwritev2)(int, const struct iovec *, int, off_t, int);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off64_t);
static int (*real_fallocate)(int, int, off_t, off_t);
static int (*real_fallocate64)(int, int, off64_t, off64_t);
static int (*real_posix_fallocate)(int, off_t, off_t);
static int (*real_posix_fallocate64)(int, off64_t, off64_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static void (*real_sync)(void);
static int (*real_syncfs)(int);
static int (*real_unlink)(const char *);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_renameat2)(int, const char *, int, const char *, unsigned int);
static int (*real_link)(const char *, const char *);
static int (*real_linkat)(int, const char *, int, const char *, int);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static void *(*real_mmap64)(void *, size_t, int, int, int, off64_t);
static ssize_t (*real_copy_file_range)(int, off64_t *, int, off64_t *, size_t, unsigned int);
static ssize_t (*real_sendfile)(int, int, off_t *, size_t);
static ssize_t (*real_splice)(int, off64_t *, int, off64_t *, size_t, unsigned int);


/* ---- set-up ---------------------------------------------------------------- */

#define LOAD(name) real_##name = dlsym(RTLD_NEXT, #name)

static void init(void)
{
    LOAD(open);
    LOAD(openat);
    LOAD(write);
    LOAD(pwrite);
    LOAD(pwrite64);
    LOAD(writev);
    LOAD(pwritev);
    LOAD(pwritev64);
    LOAD(pwritev2);
    LOAD(ftruncate);
    LOAD(ftruncate64);
    LOAD(fallocate);
    LOAD(fallocate64);
    LOAD(posix_fallocate);
    LOAD(posix_fallocate64);
    LOAD(fsync);
    LOAD(fdatasync);
    LOAD(sync);
    LOAD(syncfs);
    LOAD(unlink);
    LOAD(unlinkat);
    LOAD(rename);
    LOAD(renameat);
    LOAD(renameat2);
    LOAD(link);
    LOAD(linkat);
    LOAD(mmap);
    LOAD(mmap64);
    LOAD(copy_file_range);
    LOAD(sendfile);
    LOAD(splice);
    const char *dir = getenv("EMV_POWERLOSS_DIR");
    const char *state = getenv("EMV_POWERLOSS_STATE");
    if (!dir || !state || !*dir || !*state)
        return;
    if (!realpath(dir, tracked_dir) || !realpath(state, state_dir))
        return;
    active = 1;
}

static int on(void)
{
    pthread_once(&once, init);
    return active;
}

static void die(const char *what, const char *detail)
{
    char line[2 * PATH_MAX];
    int n = snprintf(line, sizeof line, "powerloss shim: not modelled: %s %s (refusing to go on)\n",
                     what, detail ? detail : "");
    if (n > 0 && real_write)
        (void)!real_write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    abort();
}

/* The cross-process lock around a record and the operation it covers. */
static void lock(void)
{
    pthread_mutex_lock(&mutex);
    if (lock_fd < 0) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/lock", state_dir);
        lock_fd = real_open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock_fd < 0)
            die("cannot open the lock file", path);
    }
    while (flock(lock_fd, LOCK_EX) != 0)
        if (errno != EINTR)
            die("flock failed", NULL);
}

/* Counts one tracked operation (the lock held); dies if the power is cut here. */
static void count_op(void)
{
    if (ops_fd < 0) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/ops", state_dir);
        ops_fd = real_open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (ops_fd < 0)
            die("cannot open the operation counter", path);
    }
    uint64_t v[2] = {0, 0};
    if (pread(ops_fd, v, sizeof v, 0) < 0)
        die("cannot read the operation counter", NULL);
    v[0]++;
    if (pwrite(ops_fd, v, sizeof v[0], 0) != (ssize_t)sizeof v[0])
        die("cannot write the operation counter", NULL);
    if (v[1] != 0 && v[0] >= v[1])
        kill(getpid(), SIGKILL);
}

static void unlock(void)
{
    flock(lock_fd, LOCK_UN);
    pthread_mutex_unlock(&mutex);
}

/* ---- which files are tracked ---------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The name of `path` inside the tracked directory, or NULL when it is elsewhere
 * (or a -shm file). `path` must be absolute. */
static const char *tracked_name(const char *path)
{
    size_t n = strlen(tracked_dir);
    if (strncmp(path, tracked_dir, n) != 0 || path[n] != '/')
        return NULL;
    const char *name = path + n + 1;
    if (!*name || strchr(name, '/') || ends_with(name, "-shm"))
        return NULL;
    return name;
}

/* `path` (relative to `dirfd`) made absolute in `out`; lexical only, but the
 * directory part is resolved, so symlinked temp directories compare equal. */
static int absolute(int dirfd, const char *path, char *out)
{
    char base[PATH_MAX];
    if (path[0] == '/') {
        snprintf(base, sizeof base, "%s", path);
    } else {
        char dir[PATH_MAX];
        if (dirfd == AT_FDCWD) {
            if (!getcwd(dir, sizeof dir))
                return -1;
        } else {
            char link[64];
            snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
            ssize_t n = readlink(link, dir, sizeof dir - 1);
            if (n < 0)
                return -1;
            dir[n] = 0;
        }
        snprintf(base, sizeof base, "%s/%s", dir, path);
    }
    char *slash = strrchr(base, '/');
    if (!slash)
        return -1;
    *slash = 0;
    char dir[PATH_MAX];
    if (!realpath(base[0] ? base : "/", dir))
        return -1;
    snprintf(out, PATH_MAX, "%s/%s", dir, slash + 1);
    return 0;
}

/* Whether `fd` is a tracked regular file (st filled in), 2 when it is the
 * tracked directory itself, 0 otherwise. */
static int tracked_fd(int fd, struct stat *st)
{
    if (fstat(fd, st) != 0)
        return 0;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    if (S_ISDIR(st->st_mode)) {
        ssize_t n = readlink(link, path, sizeof path - 1);
        if (n < 0)
            return 0;
        path[n] = 0;
        return strcmp(path, tracked_dir) == 0 ? 2 : 0;
    }
    if (!S_ISREG(st->st_mode) || st->st_nlink == 0)
        return 0;
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0)
        return 0;
    path[n] = 0;
    /* A file unlinked through the shim lives on in hidden/ (and may come back). */
    if (ends_with(path, " (deleted)"))
        path[n - 10] = 0;
    char hidden[PATH_MAX];
    snprintf(hidden, sizeof hidden, "%s/hidden/", state_dir);
    if (strncmp(path, hidden, strlen(hidden)) == 0)
        return 1;
    return tracked_name(path) != NULL;
}

/* ---- the data undo log ------------------------------------------------------ */

static void undo_path(dev_t dev, ino_t ino, char *out)
{
    snprintf(out, PATH_MAX, "%s/undo/%llu-%llu", state_dir, (unsigned long long)dev,
             (unsigned long long)ino);
}

static void write_all(int fd, const void *buf, size_t len, const char *what)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = real_write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("cannot write the undo state", what);
        p += n;
        len -= (size_t)n;
    }
}

/* Appends the pre-image of [offset, offset + length) of the file open as `src`
 * (read through `src`, which must be readable) and its size. */
static void record_pre_image(int src, const struct stat *st, off_t offset, off_t length)
{
    char path[PATH_MAX];
    undo_path(st->st_dev, st->st_ino, path);
    int log = real_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (log < 0)
        die("cannot open the undo log", path);
    uint64_t old_size = (uint64_t)st->st_size;
    uint64_t start = offset < 0 ? 0 : (uint64_t)offset;
    uint64_t end = length < 0 ? old_size : start + (uint64_t)length;
    if (end > old_size)
        end = old_size;
    uint64_t len = end > start ? end - start : 0;
    char *old = len ? malloc(len) : NULL;
    if (len && !old)
        die("out of memory for a pre-image", path);
    uint64_t done = 0;
    while (done < len) {
        ssize_t n = pread(src, old + done, len - done, (off_t)(start + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("cannot read a pre-image", path);
        done += (uint64_t)n;
    }
    /* One write of header and bytes, so a record is whole or a torn tail. */
    size_t total = 32 + len;
    char *rec = malloc(total);
    if (!rec)
        die("out of memory for an undo record", path);
    uint32_t magic = UNDO_MAGIC, zero = 0;
    memcpy(rec, &magic, 4);
    memcpy(rec + 4, &zero, 4);
    memcpy(rec + 8, &start, 8);
    memcpy(rec + 16, &old_size, 8);
    memcpy(rec + 24, &len, 8);
    if (len)
        memcpy(rec + 32, old, len);
    write_all(log, rec, total, path);
    free(rec);
    free(old);
    close(log);
}

/* Records the pre-image of a change to the tracked file open as `fd`.
 *
 * Read through `fd` itself whenever it is readable: opening and closing another
 * descriptor of the file would drop every POSIX (fcntl) lock the process holds
 * on it, SQLite's locks included, and let another process checkpoint or delete
 * a WAL still in use. Only write-only descriptors (Rust's File::create; none of
 * SQLite's) are reopened through /proc to be read. */
static void before_change(int fd, const struct stat *st, off_t offset, off_t length)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && (flags & O_ACCMODE) != O_WRONLY) {
        record_pre_image(fd, st, offset, length);
        return;
    }
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    int src = real_open(link, O_RDONLY | O_CLOEXEC);
    if (src < 0)
        die("cannot reopen a tracked file to read its pre-image", link);
    record_pre_image(src, st, offset, length);
    close(src);
}

/* The offset a plain write() on `fd` writes at. */
static off_t write_offset(int fd, const struct stat *st)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && (flags & O_APPEND))
        return st->st_size;
    return lseek(fd, 0, SEEK_CUR);
}

static int synchronous_fd(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && (flags & (O_SYNC | O_DSYNC)) != 0;
}

/* ---- the directory log ------------------------------------------------------ */

static void dir_log(const char *line)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/dir.log", state_dir);
    int log = real_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (log < 0)
        die("cannot open the directory log", path);
    write_all(log, line, strlen(line), path);
    close(log);
}

/* Keeps the file at `path` reachable as hidden/<name>; returns 0, or -1 when
 * `path` does not exist. */
static int hide(const char *path, char *name)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return -1;
    for (;;) {
        snprintf(name, 64, "h%ld-%lu", (long)getpid(), ++hidden_counter);
        char hidden[PATH_MAX];
        snprintf(hidden, sizeof hidden, "%s/hidden/%s", state_dir, name);
        if (real_link(path, hidden) == 0)
            return 0;
        if (errno != EEXIST) /* EEXIST: a name left by an earlier process with this pid */
            die("cannot keep a hard link of a file being replaced", path);
    }
}

/* An fsync of the directory: every name change so far is durable. */
static void commit_names(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/dir.log", state_dir);
    real_unlink(path);
    snprintf(path, sizeof path, "%s/hidden", state_dir);
    DIR *dir = opendir(path);
    if (!dir)
        return;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char file[PATH_MAX];
        snprintf(file, sizeof file, "%s/%s", path, entry->d_name);
        struct stat st;
        if (lstat(file, &st) == 0 && st.st_nlink == 1) {
            /* Its last name: the inode goes, and with it its undo log. */
            char undo[PATH_MAX];
            undo_path(st.st_dev, st.st_ino, undo);
            real_unlink(undo);
        }
        real_unlink(file);
    }
    closedir(dir);
}

static void commit_all_data(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/undo", state_dir);
    DIR *dir = opendir(path);
    if (!dir)
        return;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char file[PATH_MAX];
        snprintf(file, sizeof file, "%s/%s", path, entry->d_name);
        real_unlink(file);
    }
    closedir(dir);
}

/* ---- open ------------------------------------------------------------------- */

/* Before open(path, flags): log a creation, or the content O_TRUNC discards.
 * Returns whether a new file may be created (its stale undo log then goes). */
static int before_open(const char *abs, int flags)
{
    const char *name = tracked_name(abs);
    if (!name)
        return 0;
    struct stat st;
    int exists = lstat(abs, &st) == 0;
    if (!exists && (flags & O_CREAT)) {
        char line[PATH_MAX + 8];
        snprintf(line, sizeof line, "C\t%s\n", name);
        dir_log(line);
        return 1;
    }
    if (exists && S_ISREG(st.st_mode) && (flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY &&
        st.st_size > 0) {
        int src = real_open(abs, O_RDONLY | O_CLOEXEC);
        if (src < 0)
            die("cannot read a file open(O_TRUNC) is about to empty", abs);
        struct stat now;
        if (fstat(src, &now) != 0)
            die("cannot stat a file open(O_TRUNC) is about to empty", abs);
        record_pre_image(src, &now, 0, -1);
        close(src);
    }
    return 0;
}

static void after_create(int fd)
{
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0) {
        char undo[PATH_MAX];
        undo_path(st.st_dev, st.st_ino, undo);
        real_unlink(undo); /* a reused inode number's stale log */
    }
}

static int do_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    char abs[PATH_MAX];
    if (!on() || !(flags & (O_CREAT | O_TRUNC)) || absolute(dirfd, path, abs) != 0 ||
        !tracked_name(abs))
        return real_openat(dirfd, path, flags, mode);
    if (flags & O_TMPFILE)
        die("O_TMPFILE in the tracked directory", abs);
    lock();
    count_op();
    int created = before_open(abs, flags);
    int fd = real_openat(dirfd, path, flags, mode);
    int saved = errno;
    if (created)
        after_create(fd);
    unlock();
    errno = saved;
    return fd;
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return do_openat(AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return do_openat(AT_FDCWD, path, flags | O_LARGEFILE, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return do_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return do_openat(dirfd, path, flags | O_LARGEFILE, mode);
}

int __open_2(const char *path, int flags) { return do_openat(AT_FDCWD, path, flags, 0); }
int __open64_2(const char *path, int flags)
{
    return do_openat(AT_FDCWD, path, flags | O_LARGEFILE, 0);
}
int __openat_2(int dirfd, const char *path, int flags) { return do_openat(dirfd, path, flags, 0); }
int __openat64_2(int dirfd, const char *path, int flags)
{
    return do_openat(dirfd, path, flags | O_LARGEFILE, 0);
}
int creat(const char *path, mode_t mode)
{
    return do_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}
int creat64(const char *path, mode_t mode)
{
    return do_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC | O_LARGEFILE, mode);
}

/* ---- writes ------------------------------------------------------------------ */

static size_t iov_total(const struct iovec *iov, int count)
{
    size_t total = 0;
    for (int i = 0; i < count; i++)
        total += iov[i].iov_len;
    return total;
}

/* Runs `op` after recording the pre-image of [offset, offset + length) when
 * `fd` is tracked; offset -1 means the write position. */
#define GUARDED(fd, offset, length, op)                                                       \
    do {                                                                                      \
        struct stat st_;                                                                      \
        if (!on() || synchronous_fd(fd) || tracked_fd(fd, &st_) != 1)                         \
            return (op);                                                                      \
        lock();                                                                               \
        count_op();                                                                           \
        if (fstat(fd, &st_) != 0)                                                             \
            die("cannot stat a tracked file", NULL);                                          \
        off_t off_ = (offset) < 0 ? write_offset(fd, &st_) : (off_t)(offset);                 \
        before_change(fd, &st_, off_, (off_t)(length));                                       \
        __typeof__(op) result_ = (op);                                                        \
        int saved_ = errno;                                                                   \
        unlock();                                                                             \
        errno = saved_;                                                                       \
        return result_;                                                                       \
    } while (0)

ssize_t write(int fd, const void *buf, size_t count)
{
    GUARDED(fd, -1, count, real_write(fd, buf, count));
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset)
{
    GUARDED(fd, offset, count, real_pwrite(fd, buf, count, offset));
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t offset)
{
    GUARDED(fd, offset, count, real_pwrite64(fd, buf, count, offset));
}

ssize_t writev(int fd, const struct iovec *iov, int count)
{
    GUARDED(fd, -1, iov_total(iov, count), real_writev(fd, iov, count));
}

ssize_t pwritev(int fd, const struct iovec *iov, int count, off_t offset)
{
    GUARDED(fd, offset, iov_total(iov, count), real_pwritev(fd, iov, count, offset));
}

ssize_t pwritev64(int fd, const struct iovec *iov, int count, off64_t offset)
{
    GUARDED(fd, offset, iov_total(iov, count), real_pwritev64(fd, iov, count, offset));
}

ssize_t pwritev2(int fd, const struct iovec *iov, int count, off_t offset, int flags)
{
    if (flags & (RWF_DSYNC | RWF_SYNC))
        return real_pwritev2(fd, iov, count, offset, flags);
    GUARDED(fd, offset, iov_total(iov, count), real_pwritev2(fd, iov, count, offset, flags));
}

/* A size change: the bytes past the smaller of the two sizes, and the old size. */
static off_t truncated_from(int fd, off_t length)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return length;
    return length < st.st_size ? length : st.st_size;
}

int ftruncate(int fd, off_t length)
{
    GUARDED(fd, truncated_from(fd, length), -1, real_ftruncate(fd, length));
}

int ftruncate64(int fd, off64_t length)
{
    GUARDED(fd, truncated_from(fd, length), -1, real_ftruncate64(fd, length));
}

int fallocate(int fd, int mode, off_t offset, off_t length)
{
    GUARDED(fd, offset, length, real_fallocate(fd, mode, offset, length));
}

int fallocate64(int fd, int mode, off64_t offset, off64_t length)
{
    GUARDED(fd, offset, length, real_fallocate64(fd, mode, offset, length));
}

int posix_fallocate(int fd, off_t offset, off_t length)
{
    GUARDED(fd, offset, length, real_posix_fallocate(fd, offset, length));
}

int posix_fallocate64(int fd, off64_t offset, off64_t length)
{
    GUARDED(fd, offset, length, real_posix_fallocate64(fd, offset, length));
}

/* ---- durability barriers ----------------------------------------------------- */

static int barrier(int fd, int data_only)
{
    pthread_once(&once, init);
    int (*real)(int) = data_only ? real_fdatasync : real_fsync;
    struct stat st;
    int kind = active ? tracked_fd(fd, &st) : 0;
    if (!kind)
        return real(fd);
    lock();
    count_op();
    int rc = real(fd);
    int saved = errno;
    if (rc == 0) {
        if (kind == 2) {
            commit_names();
        } else {
            char undo[PATH_MAX];
            undo_path(st.st_dev, st.st_ino, undo);
            real_unlink(undo);
        }
    }
    unlock();
    errno = saved;
    return rc;
}

int fsync(int fd) { return barrier(fd, 0); }
int fdatasync(int fd) { return barrier(fd, 1); }

void sync(void)
{
    if (!on()) {
        real_sync();
        return;
    }
    lock();
    real_sync();
    commit_all_data();
    commit_names();
    unlock();
}

int syncfs(int fd)
{
    if (!on())
        return real_syncfs(fd);
    lock();
    int rc = real_syncfs(fd);
    int saved = errno;
    if (rc == 0) {
        commit_all_data();
        commit_names();
    }
    unlock();
    errno = saved;
    return rc;
}

/* ---- names ------------------------------------------------------------------- */

int unlinkat(int dirfd, const char *path, int flags)
{
    char abs[PATH_MAX];
    if (!on() || (flags & AT_REMOVEDIR) || absolute(dirfd, path, abs) != 0)
        return real_unlinkat(dirfd, path, flags);
    const char *name = tracked_name(abs);
    if (!name)
        return real_unlinkat(dirfd, path, flags);
    lock();
    count_op();
    char hidden[64];
    if (hide(abs, hidden) == 0) {
        char line[PATH_MAX + 80];
        snprintf(line, sizeof line, "U\t%s\t%s\n", name, hidden);
        dir_log(line);
    }
    int rc = real_unlinkat(dirfd, path, flags);
    int saved = errno;
    unlock();
    errno = saved;
    return rc;
}

int unlink(const char *path) { return unlinkat(AT_FDCWD, path, 0); }

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
              unsigned int flags)
{
    char old_abs[PATH_MAX], new_abs[PATH_MAX];
    if (!on() || absolute(olddirfd, oldpath, old_abs) != 0 ||
        absolute(newdirfd, newpath, new_abs) != 0)
        return real_renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
    const char *old_name = tracked_name(old_abs), *new_name = tracked_name(new_abs);
    if (!old_name && !new_name)
        return real_renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
    if (!old_name || !new_name)
        die("rename into or out of the tracked directory", new_abs);
    if (flags & ~(unsigned int)RENAME_NOREPLACE)
        die("rename with RENAME_EXCHANGE or RENAME_WHITEOUT", new_abs);
    lock();
    count_op();
    char hidden[64] = "-";
    struct stat src;
    if (lstat(old_abs, &src) == 0) {
        if (!(flags & RENAME_NOREPLACE))
            hide(new_abs, hidden);
        char line[2 * PATH_MAX + 80];
        snprintf(line, sizeof line, "R\t%s\t%s\t%s\n", old_name, new_name, hidden);
        dir_log(line);
    }
    int rc = flags ? real_renameat2(olddirfd, oldpath, newdirfd, newpath, flags)
                   : real_renameat(olddirfd, oldpath, newdirfd, newpath);
    int saved = errno;
    unlock();
    errno = saved;
    return rc;
}

int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
    return renameat2(olddirfd, oldpath, newdirfd, newpath, 0);
}

int rename(const char *oldpath, const char *newpath)
{
    return renameat2(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}

int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
    char new_abs[PATH_MAX];
    if (!on() || absolute(newdirfd, newpath, new_abs) != 0 || !tracked_name(new_abs))
        return real_linkat(olddirfd, oldpath, newdirfd, newpath, flags);
    lock();
    count_op();
    struct stat st;
    if (lstat(new_abs, &st) != 0) {
        char line[PATH_MAX + 8];
        snprintf(line, sizeof line, "C\t%s\n", tracked_name(new_abs));
        dir_log(line);
    }
    int rc = real_linkat(olddirfd, oldpath, newdirfd, newpath, flags);
    int saved = errno;
    unlock();
    errno = saved;
    return rc;
}

int link(const char *oldpath, const char *newpath)
{
    return linkat(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}

/* ---- what is not modelled ----------------------------------------------------- */

static void refuse_mapping(int prot, int flags, int fd)
{
    struct stat st;
    if (on() && fd >= 0 && (prot & PROT_WRITE) && (flags & MAP_SHARED) && tracked_fd(fd, &st) == 1)
        die("writable shared mmap of a tracked file", NULL);
}

void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
    refuse_mapping(prot, flags, fd);
    return real_mmap(addr, length, prot, flags, fd, offset);
}

void *mmap64(void *addr, size_t length, int prot, int flags, int fd, off64_t offset)
{
    refuse_mapping(prot, flags, fd);
    return real_mmap64(addr, length, prot, flags, fd, offset);
}

static void refuse_target(int fd, const char *what)
{
    struct stat st;
    if (on() && tracked_fd(fd, &st) == 1)
        die(what, "into a tracked file");
}

ssize_t copy_file_range(int in, off64_t *in_off, int out, off64_t *out_off, size_t len,
                        unsigned int flags)
{
    refuse_target(out, "copy_file_range");
    return real_copy_file_range(in, in_off, out, out_off, len, flags);
}

ssize_t sendfile(int out, int in, off_t *offset, size_t count)
{
    refuse_target(out, "sendfile");
    return real_sendfile(out, in, offset, count);
}

ssize_t splice(int in, off64_t *in_off, int out, off64_t *out_off, size_t len, unsigned int flags)
{
    refuse_target(out, "splice");
    return real_splice(in, in_off, out, out_off, len, flags);
}
