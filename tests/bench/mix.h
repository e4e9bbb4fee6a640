/*
 * mix.h — the load a city sends (load_post --mix): reports spread over every
 * grid of the dataset, categories drawn by weight, and a share of true
 * duplicates (the same category at almost the same point as a report a
 * moment before). Deterministic: the same file gives the same sequence.
 * Single-threaded (load_post's loop).
 */
#ifndef BENCH_MIX_H
#define BENCH_MIX_H

#include <stddef.h>

/* Read FILE: lines "point LAT LON" (a point inside a grid, e.g. its office),
 * "category CODE WEIGHT" (WEIGHT > 0), "duplicates PERCENT" (0..100), "#"
 * comments. 0 ok; -1 with a message on stderr. */
int mix_load(const char *path);

/* The JSON body of report number n (n counts up from 0) into buf; its
 * length, or -1 when it does not fit. */
int mix_body(unsigned long long n, char *buf, size_t len);

void mix_free(void);

#endif
