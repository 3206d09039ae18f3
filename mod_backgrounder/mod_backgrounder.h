/*
 * mod_backgrounder's C API: other modules register recurring jobs that run
 * with the same guarantees as configured ones (once per slot across the farm,
 * under a lease, with a fencing token; graceful restarts let a run finish,
 * hard stops cancel it).
 *
 *   #include "mod_backgrounder.h"
 *
 *   static apr_status_t purge(const backgrounder_run *run, void *baton)
 *   {
 *       while (more_to_do()) {
 *           if (run->cancelled(run))
 *               return APR_EINTR;          // timeout, lost lease or httpd stopping
 *           do_a_little(run->token);       // guard writes with the fencing token
 *       }
 *       run->set_detail(run, "purged 42 rows");
 *       return APR_SUCCESS;
 *   }
 *
 *   static int my_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
 *   {
 *       APR_OPTIONAL_FN_TYPE(backgrounder_register_job) *reg =
 *           APR_RETRIEVE_OPTIONAL_FN(backgrounder_register_job);
 *       backgrounder_job job = { BACKGROUNDER_API_VERSION, "purge", apr_time_from_sec(300) };
 *       job.fn = purge;
 *       if (reg) {
 *           const char *err = reg(s, pconf, &job);
 *           if (err) ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "%s", err);
 *       }
 *       return OK;
 *   }
 *   ... ap_hook_post_config(my_post_config, NULL, NULL, APR_HOOK_MIDDLE);
 *
 * Register in post_config, on every configuration pass (a registration
 * lives in that pass's configuration). mod_backgrounder's own post_config
 * runs last, so it sees every registration.
 */
#ifndef MOD_BACKGROUNDER_H
#define MOD_BACKGROUNDER_H

#include "httpd.h"
#include "apr_optional.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BACKGROUNDER_API_VERSION 1

typedef struct backgrounder_run backgrounder_run;

/* What a callback learns about its run. Valid until the callback returns. */
struct backgrounder_run {
    const char *job;              /* the job's name */
    const char *node;             /* this server's BackgrounderNode */
    apr_int64_t slot;             /* the slot number */
    apr_int64_t slot_start_ms;    /* the slot's start, ms since the epoch (database clock) */
    apr_int64_t token;            /* the fencing token (grows with every run of the job) */
    int attempt;                  /* 1, 2, ... with retries */
    apr_pool_t *pool;             /* this run's own, destroyed after the callback returns */
    server_rec *server;           /* the main server, for ap_log_error */
    /* Non-zero once the run must stop: its timeout passed, its lease was
     * lost, or httpd is stopping; once non-zero, it stays so. Check it often:
     * a callback cannot be killed, and a hard stop waits for it. */
    int (*cancelled)(const backgrounder_run *run);
    /* Milliseconds until the run's timeout (<= 0: it has passed). */
    apr_int64_t (*time_left_ms)(const backgrounder_run *run);
    /* One line for the run's history and log (copied). */
    void (*set_detail)(const backgrounder_run *run, const char *detail);
    void *internal;               /* mod_backgrounder's own */
};

/* A job's work. Runs on a thread of its own in the child that is the active
 * scheduler, with every signal blocked. Return APR_SUCCESS for success,
 * anything else for a failure. */
typedef apr_status_t backgrounder_job_fn(const backgrounder_run *run, void *baton);

typedef enum {
    BACKGROUNDER_SCOPE_FARM = 0,    /* once per slot across every server sharing the store */
    BACKGROUNDER_SCOPE_SERVER = 1   /* once per slot on each server */
} backgrounder_scope;

typedef struct {
    int api_version;                /* BACKGROUNDER_API_VERSION */
    const char *name;               /* 1-64 of A-Z a-z 0-9 . _ -, unique among all jobs */
    apr_interval_time_t every;      /* the interval, at least apr_time_from_sec(1) */
    apr_interval_time_t timeout;    /* 0: the interval */
    apr_interval_time_t offset;     /* shift of the slots, less than every */
    backgrounder_scope scope;
    int retries;                    /* 0 to 100 */
    apr_interval_time_t backoff;    /* between retries; 0: 10 s or half the interval */
    backgrounder_job_fn *fn;
    void *baton;                    /* passed to fn */
} backgrounder_job;

/* Registers a job for this configuration pass. Returns NULL, or a message
 * (allocated from pconf) saying what is wrong. */
APR_DECLARE_OPTIONAL_FN(const char *, backgrounder_register_job,
                        (server_rec *s, apr_pool_t *pconf, const backgrounder_job *job));

#ifdef __cplusplus
}
#endif

#endif /* MOD_BACKGROUNDER_H */
