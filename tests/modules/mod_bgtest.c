/*
 * mod_bgtest: an example of mod_backgrounder's C API, and the integration
 * tests' way to exercise it.
 *
 *   LoadModule bgtest_module .../mod_bgtest.so
 *   BgTestJob NAME EVERY-SECONDS BEHAVIOUR FILE [timeout=S] [retries=N] [scope=server]
 *
 * BEHAVIOUR: ok (append a line, succeed), fail (append, fail), flaky (fail
 * the first attempt, then succeed), slow (append "start", then wait until
 * cancelled and append "cancelled ... after MS", or succeed after 60 s).
 * Lines: "BEHAVIOUR JOB SLOT TOKEN ATTEMPT NODE".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h" /* first: the other httpd headers need it */
#include "http_config.h"
#include "http_log.h"

#include "apr_optional.h"
#include "apr_strings.h"
#include "apr_time.h"

#include "mod_backgrounder.h"

module AP_MODULE_DECLARE_DATA bgtest_module;

typedef struct {
    backgrounder_job job;
    const char *behaviour;
    const char *file;
} test_job;

typedef struct {
    apr_array_header_t *jobs; /* of test_job */
} test_conf;

static void append(const test_job *t, const backgrounder_run *run, const char *what)
{
    FILE *f = fopen(t->file, "a");
    if (!f) return;
    fprintf(f, "%s %s %" APR_INT64_T_FMT " %" APR_INT64_T_FMT " %d %s\n", what, run->job, run->slot, run->token,
            run->attempt, run->node);
    fclose(f);
}

static apr_status_t work(const backgrounder_run *run, void *baton)
{
    const test_job *t = baton;
    if (strcmp(t->behaviour, "slow") == 0) {
        apr_time_t start = apr_time_now();
        append(t, run, "start");
        while (apr_time_now() - start < apr_time_from_sec(60)) {
            if (run->cancelled(run)) {
                char line[128];
                apr_snprintf(line, sizeof line, "cancelled-after-%" APR_INT64_T_FMT "ms",
                             (apr_int64_t)apr_time_as_msec(apr_time_now() - start));
                append(t, run, line);
                run->set_detail(run, "noticed the cancellation");
                return APR_EINTR;
            }
            apr_sleep(apr_time_from_msec(20));
        }
        return APR_SUCCESS;
    }
    append(t, run, t->behaviour);
    if (strcmp(t->behaviour, "fail") == 0 || (strcmp(t->behaviour, "flaky") == 0 && run->attempt == 1)) {
        run->set_detail(run, apr_psprintf(run->pool, "failing on purpose (attempt %d)", run->attempt));
        return APR_EGENERAL;
    }
    run->set_detail(run, "wrote a line");
    return APR_SUCCESS;
}

static const char *add_job(cmd_parms *cmd, void *dummy, int argc, char *const argv[])
{
    test_conf *conf = ap_get_module_config(cmd->server->module_config, &bgtest_module);
    test_job *t;
    int i;
    (void)dummy;
    if (argc < 4) return "BgTestJob NAME EVERY-SECONDS BEHAVIOUR FILE [timeout=S] [retries=N] [scope=server]";
    t = apr_array_push(conf->jobs);
    memset(t, 0, sizeof *t);
    t->job.api_version = BACKGROUNDER_API_VERSION;
    t->job.name = argv[0];
    t->job.every = apr_time_from_sec(atoi(argv[1]));
    t->behaviour = argv[2];
    t->file = argv[3];
    for (i = 4; i < argc; ++i) {
        if (strncmp(argv[i], "timeout=", 8) == 0) t->job.timeout = apr_time_from_sec(atoi(argv[i] + 8));
        else if (strncmp(argv[i], "retries=", 8) == 0) t->job.retries = atoi(argv[i] + 8);
        else if (strcmp(argv[i], "scope=server") == 0) t->job.scope = BACKGROUNDER_SCOPE_SERVER;
        else return apr_pstrcat(cmd->pool, "BgTestJob: unknown option ", argv[i], NULL);
    }
    t->job.fn = work;
    t->job.baton = t;
    return NULL;
}

static int register_jobs(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    test_conf *conf = ap_get_module_config(s->module_config, &bgtest_module);
    APR_OPTIONAL_FN_TYPE(backgrounder_register_job) *reg = APR_RETRIEVE_OPTIONAL_FN(backgrounder_register_job);
    int i;
    (void)plog;
    (void)ptemp;
    if (conf->jobs->nelts == 0) return OK;
    if (!reg) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_ERR, 0, s, "mod_bgtest: mod_backgrounder is not loaded");
        return !OK;
    }
    for (i = 0; i < conf->jobs->nelts; ++i) {
        test_job *t = &APR_ARRAY_IDX(conf->jobs, i, test_job);
        const char *err = reg(s, pconf, &t->job);
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_ERR, 0, s, "mod_bgtest: %s", err);
            return !OK;
        }
    }
    return OK;
}

static void *create_conf(apr_pool_t *p, server_rec *s)
{
    test_conf *conf = apr_pcalloc(p, sizeof *conf);
    (void)s;
    conf->jobs = apr_array_make(p, 4, sizeof(test_job));
    return conf;
}

static const command_rec cmds[] = {
    AP_INIT_TAKE_ARGV("BgTestJob", add_job, NULL, RSRC_CONF, "a test job registered through mod_backgrounder's C API"),
    {NULL}};

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(register_jobs, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA bgtest_module = {
    STANDARD20_MODULE_STUFF, NULL, NULL, create_conf, NULL, cmds, register_hooks,
#if defined(AP_MODULE_FLAG_NONE)
    AP_MODULE_FLAG_NONE
#endif
};
