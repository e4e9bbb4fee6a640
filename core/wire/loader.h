/*
 * loader.h — dlopen a plugin .so and check it before anything runs: a
 * regular file, both entry symbols, a compatible ABI (same major, plugin minor
 * <= core minor), a sane descriptor. Every refusal names the file and the
 * reason and dlcloses. Main thread only.
 */
#ifndef CG_LOADER_H
#define CG_LOADER_H

#include <stddef.h>
#include <citygrid/plugin.h>

typedef struct cg_loaded_plugin {
    char *path;
    void *dl;
    const citygrid_plugin *desc;
    citygrid_abi abi;        /* what the plugin said it speaks */
} cg_loaded_plugin;

/* The ABI versions the core offers (today: CITYGRID_ABI_MAJOR.MINOR). */
extern const citygrid_abi cg_core_abi;
/* 1 if a plugin built for `plugin` may load in a core speaking `core`. */
int cg_abi_compatible(citygrid_abi core, citygrid_abi plugin);

/* 0 ok; -1 refused, err = "PATH: reason". */
int cg_loader_open(const char *path, cg_loaded_plugin *out, char *err, size_t errlen);
void cg_loader_close(cg_loaded_plugin *p);

#endif
