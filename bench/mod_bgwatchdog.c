/* mod_bgwatchdog: the httpd built-in way to run a job on an interval, for
 * the side-by-side benchmarks in bench/ (see BENCHMARKS.md). Not installed,
 * not part of mod_backgrounder.
 *
 *   LoadModule bgwatchdog_module .../bench/.libs/mod_bgwatchdog.so
 *   BgWatchdogRun "/path/to/job --arg"
 *   BgWatchdogInterval 1000          (milliseconds, at least 100)
 *
 * What a module author does with mod_watchdog: a singleton child watchdog
 * (one child of the server runs the callbacks) whose callback starts the
 * command and waits for it. mod_watchdog calls a callback when the time
 * spent since its previous call, counted in 100 ms ticks, reaches the
 * interval: starts land on ticks, and the next interval counts from the end
 * of the previous callback, so a job's run time adds to its period. There is
 * no coordination between servers and none across a graceful restart beyond
 * what mod_watchdog's singleton mutex gives.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "mod_watchdog.h"

#include "apr_strings.h"
#include "apr_thread_proc.h"

#include <stdlib.h>

module AP_MODULE_DECLARE_DATA bgwatchdog_module;

typedef struct {
    const char *run;                /* the command line, split like httpd words */
    apr_interval_time_t interval;   /* microseconds */
    server_rec *s;
} bgwd_conf;

static void *bgwd_create_server_conf(apr_pool_t *p, server_rec *s)
{
    bgwd_conf *conf = apr_pcalloc(p, sizeof(*conf));
    conf->interval = apr_time_from_sec(1);
    conf->s = s;
    return conf;
}

static const char *bgwd_set_run(cmd_parms *cmd, void *dummy, const char *arg)
{
    bgwd_conf *conf = ap_get_module_config(cmd->server->module_config, &bgwatchdog_module);
    (void)dummy;
    if (!*arg) {
        return "BgWatchdogRun needs a command";
    }
    conf->run = arg;
    return NULL;
}

static const char *bgwd_set_interval(cmd_parms *cmd, void *dummy, const char *arg)
{
    bgwd_conf *conf = ap_get_module_config(cmd->server->module_config, &bgwatchdog_module);
    char *end = NULL;
    long ms = strtol(arg, &end, 10);
    (void)dummy;
    if (!end || *end || ms < 100) {
        return apr_psprintf(cmd->pool, "BgWatchdogInterval '%s': milliseconds, at least 100", arg);
    }
    conf->interval = apr_time_from_msec(ms);
    return NULL;
}

/* Runs the command and waits for it, as a callback must (mod_watchdog calls
 * the next callback only when this one returns). */
static void bgwd_run(bgwd_conf *conf, apr_pool_t *pool)
{
    char **argv = NULL;
    apr_procattr_t *attr = NULL;
    apr_proc_t proc;
    apr_exit_why_e why;
    int code = 0;
    apr_status_t rv;

    if (apr_tokenize_to_argv(conf->run, &argv, pool) != APR_SUCCESS || !argv[0]) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, conf->s, "mod_bgwatchdog: cannot split '%s'", conf->run);
        return;
    }
    if ((rv = apr_procattr_create(&attr, pool)) != APR_SUCCESS
        || (rv = apr_procattr_cmdtype_set(attr, APR_PROGRAM_ENV)) != APR_SUCCESS
        || (rv = apr_proc_create(&proc, argv[0], (const char *const *)argv, NULL, attr, pool)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, conf->s, "mod_bgwatchdog: cannot start %s", argv[0]);
        return;
    }
    rv = apr_proc_wait(&proc, &code, &why, APR_WAIT);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, conf->s, "mod_bgwatchdog: %s ended (%s %d)", argv[0],
                 why == APR_PROC_EXIT ? "exit status" : "signal", code);
}

static apr_status_t bgwd_callback(int state, void *data, apr_pool_t *pool)
{
    bgwd_conf *conf = data;
    if (state == AP_WATCHDOG_STATE_RUNNING) {
        bgwd_run(conf, pool);
    }
    return APR_SUCCESS;
}

static int bgwd_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_instance;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_callback;
    bgwd_conf *conf = ap_get_module_config(s->module_config, &bgwatchdog_module);
    ap_watchdog_t *wd = NULL;
    apr_status_t rv;
    (void)plog;
    (void)ptemp;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG || !conf->run) {
        return OK;
    }
    get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!get_instance || !register_callback) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "mod_bgwatchdog: mod_watchdog is required");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* A child watchdog (parent = 0) that only one child runs (singleton = 1). */
    rv = get_instance(&wd, "bgwatchdog", 0, 1, pconf);
    if (rv == APR_SUCCESS) {
        rv = register_callback(wd, conf->interval, conf, bgwd_callback);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "mod_bgwatchdog: cannot set up the watchdog");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static const command_rec bgwd_cmds[] = {
    AP_INIT_TAKE1("BgWatchdogRun", bgwd_set_run, NULL, RSRC_CONF, "the command to run on every interval"),
    AP_INIT_TAKE1("BgWatchdogInterval", bgwd_set_interval, NULL, RSRC_CONF, "the interval in milliseconds"),
    {NULL}
};

static void bgwd_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(bgwd_post_config, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA bgwatchdog_module = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    bgwd_create_server_conf,
    NULL,
    bgwd_cmds,
    bgwd_register_hooks
};
