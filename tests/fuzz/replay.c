/*
 * replay.c — runs a fuzz target without libFuzzer, as an ordinary test
 * program: every file of the target's seed corpus, then a few hundred
 * deterministic mutations of each (fixed seed, so every run feeds the same
 * inputs), are passed to LLVMFuzzerTestOneInput. Built with ASan/UBSan
 * (--enable-sanitizers) this finds crashes, overreads and, at exit, leaks.
 *
 *   fuzz_NAME [DIR...]
 *
 * Without arguments the corpus is $CG_SRCDIR/tests/fuzz/corpus/NAME (NAME
 * from the program's own name, without "fuzz_"). When an input crashes the
 * target, it is written to ./crash-fuzz_NAME before the process dies, so
 * that it can be replayed (`fuzz_NAME crash-fuzz_NAME`) and debugged.
 * Single-threaded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

#define MUTATIONS_PER_FILE 300
#define REPLAY_MAX_INPUT 8192
#define TIME_BUDGET_SECONDS 4   /* stop mutating (not replaying seeds) after this */
#define MAX_FILES 256

typedef struct blob {
    uint8_t *data;
    size_t len;
} blob;

static const char *target_name = "fuzz";
static const uint8_t *current;
static size_t current_len;

/* Async-signal-safe: only open/write. Called by ASan's death callback or a
 * fatal signal. */
static void save_current_input(void)
{
    static int saved;
    if (saved || !current)
        return;
    saved = 1;
    char path[128] = "crash-";
    strncat(path, target_name, sizeof path - strlen(path) - 1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, current, current_len);
        (void)w;
        close(fd);
    }
    static const char msg[] = "\nreplay: the crashing input was saved to ./crash-";
    ssize_t w = write(2, msg, sizeof msg - 1);
    w = write(2, target_name, strlen(target_name));
    w = write(2, "\n", 1);
    (void)w;
}

static void on_fatal_signal(int sig)
{
    save_current_input();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Present only when linked with a sanitizer runtime. */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static void run_one(const uint8_t *data, size_t len)
{
    /* An exact-size copy, so that ASan sees any read past the end. */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        perror("malloc");
        exit(2);
    }
    if (len)
        memcpy(copy, data, len);
    current = copy;
    current_len = len;
    LLVMFuzzerTestOneInput(copy, len);
    current = NULL;
    free(copy);
}

/* xorshift64*: the same sequence on every machine. */
static uint64_t rng_state;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}
static size_t rng_below(size_t n) { return n ? (size_t)(rng() % n) : 0; }

/* Bytes that matter to the parsers under test. */
static const uint8_t interesting[] = {
    0, 0xff, 0x80, 0xc0, 0xe0, 0xf0, 0xf4, 0xed, '"', '\'', ',', '\n', '\r', '{', '}',
    '[', ']', ':', ';', '=', '-', '+', '.', 'T', 'Z', 'e', '0', '1', '9', ' ', '\\', '@',
};

/* Mutate buf (len bytes, capacity REPLAY_MAX_INPUT) in place a few times; returns
 * the new length. `other` is another corpus file to splice from. */
static size_t mutate(uint8_t *buf, size_t len, const blob *other)
{
    int rounds = 1 + (int)rng_below(4);
    for (int r = 0; r < rounds; r++) {
        switch (rng_below(8)) {
        case 0: /* flip a bit */
            if (len)
                buf[rng_below(len)] ^= (uint8_t)(1u << rng_below(8));
            break;
        case 1: /* an interesting byte */
            if (len)
                buf[rng_below(len)] = interesting[rng_below(sizeof interesting)];
            break;
        case 2: /* insert a byte */
            if (len < REPLAY_MAX_INPUT) {
                size_t at = rng_below(len + 1);
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = rng_below(2) ? interesting[rng_below(sizeof interesting)]
                                       : (uint8_t)rng();
                len++;
            }
            break;
        case 3: /* delete a run */
            if (len) {
                size_t at = rng_below(len), n = 1 + rng_below(len - at < 8 ? len - at : 8);
                memmove(buf + at, buf + at + n, len - at - n);
                len -= n;
            }
            break;
        case 4: /* duplicate a run */
            if (len) {
                size_t at = rng_below(len), n = 1 + rng_below(len - at < 32 ? len - at : 32);
                if (len + n <= REPLAY_MAX_INPUT) {
                    memmove(buf + at + n, buf + at, len - at);
                    len += n;
                }
            }
            break;
        case 5: /* truncate */
            len = rng_below(len + 1);
            break;
        case 6: /* splice in a run of another file */
            if (other->len) {
                size_t from = rng_below(other->len);
                size_t n = 1 + rng_below(other->len - from);
                size_t at = rng_below(len + 1);
                if (len + n <= REPLAY_MAX_INPUT) {
                    memmove(buf + at + n, buf + at, len - at);
                    memcpy(buf + at, other->data + from, n);
                    len += n;
                }
            }
            break;
        default: /* a digit run changed: numbers are what most parsers check */
            if (len) {
                size_t at = rng_below(len);
                for (size_t i = at; i < len && i < at + 4; i++)
                    buf[i] = (uint8_t)('0' + rng_below(10));
            }
            break;
        }
    }
    return len;
}

static int load_file(const char *path, blob *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    out->data = malloc(REPLAY_MAX_INPUT);
    out->len = out->data ? fread(out->data, 1, REPLAY_MAX_INPUT, f) : 0;
    fclose(f);
    return out->data ? 0 : -1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files of a directory (sorted, for a deterministic order), or the path
 * itself when it is a file. */
static size_t collect(const char *path, blob *files, size_t n, size_t max)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "%s: %s: %s\n", target_name, path, strerror(errno));
        exit(2);
    }
    if (!S_ISDIR(st.st_mode)) {
        if (n < max && load_file(path, &files[n]) == 0)
            n++;
        return n;
    }
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "%s: %s: %s\n", target_name, path, strerror(errno));
        exit(2);
    }
    char *names[MAX_FILES];
    size_t nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nn < MAX_FILES)
        if (e->d_name[0] != '.')
            names[nn++] = strdup(e->d_name);
    closedir(d);
    qsort(names, nn, sizeof *names, by_name);
    for (size_t i = 0; i < nn; i++) {
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, names[i]);
        if (n < max && stat(full, &st) == 0 && S_ISREG(st.st_mode) &&
            load_file(full, &files[n]) == 0)
            n++;
        free(names[i]);
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    if (strncmp(base, "lt-", 3) == 0) /* a libtool wrapper's real program */
        base += 3;
    target_name = base;
    const char *short_name = strncmp(base, "fuzz_", 5) == 0 ? base + 5 : base;

    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(save_current_input);
    signal(SIGSEGV, on_fatal_signal);
    signal(SIGBUS, on_fatal_signal);
    signal(SIGFPE, on_fatal_signal);
    signal(SIGABRT, on_fatal_signal);

    static blob files[MAX_FILES];
    size_t n = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            n = collect(argv[i], files, n, MAX_FILES);
    } else {
        const char *src = getenv("CG_SRCDIR");
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", src ? src : ".", short_name);
        n = collect(dir, files, n, MAX_FILES);
    }
    if (n == 0) {
        fprintf(stderr, "%s: empty corpus\n", target_name);
        return 2;
    }

    size_t inputs = 0;
    run_one((const uint8_t *)"", 0);
    inputs++;
    for (size_t i = 0; i < n; i++, inputs++)
        run_one(files[i].data, files[i].len);

    time_t start = time(NULL);
    uint8_t *buf = malloc(REPLAY_MAX_INPUT);
    rng_state = 0x9e3779b97f4a7c15ULL;
    int out_of_time = 0;
    for (size_t i = 0; i < n && !out_of_time; i++) {
        for (int m = 0; m < MUTATIONS_PER_FILE; m++) {
            memcpy(buf, files[i].data, files[i].len);
            size_t len = mutate(buf, files[i].len, &files[rng_below(n)]);
            run_one(buf, len);
            inputs++;
            if ((m & 31) == 31 && time(NULL) - start >= TIME_BUDGET_SECONDS) {
                out_of_time = 1;
                break;
            }
        }
    }
    free(buf);
    for (size_t i = 0; i < n; i++)
        free(files[i].data);
    printf("%s: %zu inputs (%zu corpus files%s), 0 crashes\n", target_name, inputs, n,
           out_of_time ? ", time budget reached" : "");
    return 0;
}
