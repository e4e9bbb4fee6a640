/*
 * login_throttle.c — see login_throttle.h. A fixed table of keyed
 * counters ("a|ADDR", "p|LOGIN|ADDR", "l|LOGIN"), open addressing on an
 * FNV-1a hash; a full probe run evicts its stalest entry.
 */
#include "http/login_throttle.h"

#include <stdio.h>
#include <string.h>

#define SLOTS 8192
#define PROBE 16
#define KEY_MAX 200
#define FORGET_MS (30LL * 60 * 1000)
#define MAX_INFLIGHT_PAIR 1
#define MAX_INFLIGHT_ADDRESS 4

typedef struct slot {
    char key[KEY_MAX];
    unsigned failures;
    int64_t last_ms;        /* last failure */
    int64_t blocked_until;  /* no attempt before this */
    unsigned inflight;      /* attempts begun, not yet failed or succeeded */
} slot;

static slot table[SLOTS];

typedef struct rule {
    char kind;
    unsigned free_failures;
    int64_t max_delay_ms;
} rule;

static const rule rules[] = {
    {'a', 5, 15LL * 60 * 1000},
    {'p', 5, 15LL * 60 * 1000},
    {'l', 20, 60LL * 1000},
};

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void make_key(char *key, char kind, const char *login, const char *address)
{
    if (kind == 'a')
        snprintf(key, KEY_MAX, "a|%s", address);
    else if (kind == 'p')
        snprintf(key, KEY_MAX, "p|%.128s|%s", login, address);
    else
        snprintf(key, KEY_MAX, "l|%s", login);
}

/* The slot of key; when create, a new or evicted one. NULL when absent. */
static slot *find(const char *key, int64_t now, int create)
{
    uint32_t h = fnv1a(key);
    slot *stalest = NULL;
    for (unsigned i = 0; i < PROBE; i++) {
        slot *s = &table[(h + i) % SLOTS];
        if (s->key[0] && now - s->last_ms > FORGET_MS && now >= s->blocked_until &&
            !s->inflight)
            s->key[0] = 0; /* forgotten */
        if (s->key[0] && strcmp(s->key, key) == 0)
            return s;
        if (!stalest || (stalest->key[0] && (!s->key[0] || s->last_ms < stalest->last_ms)))
            stalest = s; /* an empty slot, else the stalest */
    }
    if (!create)
        return NULL;
    memset(stalest, 0, sizeof *stalest);
    snprintf(stalest->key, KEY_MAX, "%s", key);
    return stalest;
}

int cg_login_throttle_check(const char *login, const char *address, int64_t now_ms)
{
    int64_t wait = 0;
    char key[KEY_MAX];
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        make_key(key, rules[i].kind, login, address);
        slot *s = find(key, now_ms, 0);
        if (s && s->blocked_until - now_ms > wait)
            wait = s->blocked_until - now_ms;
    }
    return wait > 0 ? (int)((wait + 999) / 1000) : 0;
}

/* One attempt fewer under way for the address and the pair. */
static void ended(const char *login, const char *address)
{
    char key[KEY_MAX];
    for (char kind = 'a'; kind; kind = kind == 'a' ? 'p' : 0) {
        make_key(key, kind, login, address);
        slot *s = find(key, 0, 0);
        if (s && s->inflight)
            s->inflight--;
    }
}

int cg_login_throttle_begin(const char *login, const char *address, int64_t now_ms)
{
    int wait = cg_login_throttle_check(login, address, now_ms);
    if (wait > 0)
        return wait;
    char key[KEY_MAX];
    make_key(key, 'a', login, address);
    slot *a = find(key, now_ms, 1);
    if (a->inflight >= MAX_INFLIGHT_ADDRESS)
        return 1;
    make_key(key, 'p', login, address);
    slot *p = find(key, now_ms, 1);
    if (p->inflight >= MAX_INFLIGHT_PAIR)
        return 1;
    /* A fresh slot is not forgotten while in flight (find), and is kept
     * from being the stalest by its time. */
    if (!a->last_ms)
        a->last_ms = now_ms;
    if (!p->last_ms)
        p->last_ms = now_ms;
    a->inflight++;
    p->inflight++;
    return 0;
}

void cg_login_throttle_abandoned(const char *login, const char *address)
{
    ended(login, address);
}

void cg_login_throttle_failed(const char *login, const char *address, int64_t now_ms)
{
    char key[KEY_MAX];
    ended(login, address);
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        make_key(key, rules[i].kind, login, address);
        slot *s = find(key, now_ms, 1);
        s->failures++;
        s->last_ms = now_ms;
        if (s->failures > rules[i].free_failures) {
            unsigned over = s->failures - rules[i].free_failures - 1;
            int64_t delay = over >= 20 ? rules[i].max_delay_ms : 1000LL << over;
            if (delay > rules[i].max_delay_ms)
                delay = rules[i].max_delay_ms;
            s->blocked_until = now_ms + delay;
        }
    }
}

void cg_login_throttle_succeeded(const char *login, const char *address)
{
    char key[KEY_MAX];
    ended(login, address);
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        make_key(key, rules[i].kind, login, address);
        slot *s = find(key, 0, 0);
        if (s && s->inflight) /* other attempts still under way: keep counting them */
            s->failures = 0, s->blocked_until = 0;
        else if (s)
            s->key[0] = 0;
    }
}

void cg_login_throttle_reset(void)
{
    memset(table, 0, sizeof table);
}
