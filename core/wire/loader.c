/*
 * loader.c — open a plugin .so and decide whether it may run (see loader.h).
 * Modelled on collectd's plugin_load_file: refuse what is not a regular
 * file, dlclose on every failure path, say which file and why.
 */
#include "wire/loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const citygrid_abi cg_core_abi = {CITYGRID_ABI_MAJOR, CITYGRID_ABI_MINOR};

int cg_abi_compatible(citygrid_abi core, citygrid_abi plugin)
{
    return plugin.major == core.major && plugin.minor <= core.minor;
}

static int valid_code(const char *s)
{
    if (!s || !*s || strlen(s) > 48)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* What a descriptor must hold before any of its code runs. */
static const char *descriptor_problem(const citygrid_plugin *d)
{
    if (!d)
        return "citygrid_plugin_describe() returned NULL";
    if (d->struct_size < offsetof(citygrid_plugin, reserved))
        return "descriptor struct_size is smaller than ABI 1.0's descriptor";
    if (!valid_code(d->name))
        return "descriptor name is missing or not [a-z0-9_-]{1,48}";
    if (!d->version || !*d->version)
        return "descriptor has no version";
    if (!valid_code(d->department))
        return "descriptor department is missing or not [a-z0-9_-]{1,48}";
    if (!d->handle)
        return "descriptor has no handle() callback";
    return NULL;
}

int cg_loader_open(const char *path, cg_loaded_plugin *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(err, errlen, "%s: cannot load plugin: %s (is the path right, and was it built?)",
                 path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: cannot load plugin: not a regular file", path);
        return -1;
    }
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        snprintf(err, errlen, "%s: dlopen failed: %s", path, dlerror());
        return -1;
    }
    citygrid_plugin_abi_fn abi_fn = (citygrid_plugin_abi_fn)dlsym(dl, CITYGRID_PLUGIN_ABI_SYMBOL);
    citygrid_plugin_describe_fn describe =
        (citygrid_plugin_describe_fn)dlsym(dl, CITYGRID_PLUGIN_DESCRIBE_SYMBOL);
    if (!abi_fn || !describe) {
        snprintf(err, errlen, "%s: not a citygrid plugin: missing entry symbol %s "
                 "(build it with CITYGRID_PLUGIN_DEFINE from <citygrid/plugin.h>)",
                 path, abi_fn ? CITYGRID_PLUGIN_DESCRIBE_SYMBOL : CITYGRID_PLUGIN_ABI_SYMBOL);
        dlclose(dl);
        return -1;
    }
    citygrid_abi offered[] = {cg_core_abi};
    citygrid_abi wanted = abi_fn(1, offered);
    if (!cg_abi_compatible(cg_core_abi, wanted)) {
        snprintf(err, errlen, "%s: incompatible plugin ABI %u.%u: this core speaks %u.%u "
                 "(plugins load with the same major and a minor <= %u)",
                 path, wanted.major, wanted.minor, cg_core_abi.major, cg_core_abi.minor,
                 cg_core_abi.minor);
        dlclose(dl);
        return -1;
    }
    const citygrid_plugin *desc = describe();
    const char *problem = descriptor_problem(desc);
    if (problem) {
        snprintf(err, errlen, "%s: refused: %s", path, problem);
        dlclose(dl);
        return -1;
    }
    out->path = strdup(path);
    out->dl = dl;
    out->desc = desc;
    out->abi = wanted;
    return 0;
}

void cg_loader_close(cg_loaded_plugin *p)
{
    if (!p)
        return;
    if (p->dl)
        dlclose(p->dl);
    free(p->path);
    memset(p, 0, sizeof *p);
}
