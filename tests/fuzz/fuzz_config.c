/*
 * fuzz_config.c — fuzz target for the config loader (cg_config_load).
 * Input: the text of citygrid.conf, written to a file in a private temporary
 * directory (made once, removed at exit) and loaded from there; relative
 * paths and @include resolve inside that directory.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"
#include "fuzz.h"

/* libconfig < 1.7.3 leaks a string token that a syntax error discards
 * (hyperrealm/libconfig#142, fixed by PR #155); Debian 12 ships 1.5. The
 * token is allocated by its scanner (libconfig_yylex, strbuf_append). That
 * leak is the library's, not ours: tell LeakSanitizer to ignore it (and only
 * allocations made by the scanner; settings come from the parser). The
 * hook is called by the sanitizer runtime, when there is one. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

static char dir[64];
static char path[96];

static void remove_dir(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/cg-fuzz-config.XXXXXX");
        if (!mkdtemp(dir)) {
            perror("fuzz_config: mkdtemp");
            abort();
        }
        snprintf(path, sizeof path, "%s/citygrid.conf", dir);
        atexit(remove_dir);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 0;
    ssize_t w = size ? write(fd, data, size) : 0;
    close(fd);
    if (w != (ssize_t)size)
        return 0;
    cg_config cfg;
    char err[512] = "";
    if (cg_config_load(path, &cfg, err, sizeof err) == 0)
        cg_config_free(&cfg);
    else
        FUZZ_REQUIRE(err[0] != '\0');
    return 0;
}
