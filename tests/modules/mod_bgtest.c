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
 *
 * It is also the endpoint of the url= job tests:
 *
 *   BgTestEndpointLog FILE
 *   <Location /hook> SetHandler bgtest-endpoint </Location>
 *
 * Each request appends one line of JSON to FILE (method, URI, the
 * X-Backgrounder-* and X-Test headers, the request body's length) and is
 * answered as its query asks: status=NNN (default 200), body=TEXT, big=N
 * (N bytes of body), sleep=MS (wait first; if the client goes away meanwhile,
 * append {"gone_after_ms": MS, "job": ..., "token": ..., "at_ms": when, ms since
 * the epoch}), location=TEXT (a Location header, %XX
 * decoded, so any byte but NUL) with pad=N more 'a's at its end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h" /* first: the other httpd headers need it */
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"

#include "apr_poll.h"
#include "apr_network_io.h"

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
    const char *endpoint_log;
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


/* ---- the url= jobs' endpoint */

static void log_json(const char *file, const char *json)
{
    FILE *f;
    if (!file) return;
    f = fopen(file, "a");
    if (!f) return;
    fprintf(f, "%s\n", json);
    fclose(f);
}

/* A header's value as a JSON string (only printable ASCII survives). */
static const char *json_str(apr_pool_t *p, const char *v)
{
    char *out, *o;
    if (!v) return "null";
    out = o = apr_palloc(p, strlen(v) + 3);
    *o++ = '"';
    for (; *v; ++v)
        if (*v >= 0x20 && *v < 0x7f && *v != '"' && *v != '\\') *o++ = *v;
    *o++ = '"';
    *o = 0;
    return out;
}

/* Waits up to ms; returns how long the client stayed, or -1 if it stayed. */
static apr_int64_t wait_or_gone(request_rec *r, apr_int64_t ms)
{
    apr_socket_t *sock = ap_get_conn_socket(r->connection);
    apr_time_t start = apr_time_now();
    while (apr_time_now() - start < apr_time_from_msec(ms)) {
        apr_pollfd_t pfd;
        apr_int32_t n = 0;
        memset(&pfd, 0, sizeof pfd);
        pfd.p = r->pool;
        pfd.desc_type = APR_POLL_SOCKET;
        pfd.desc.s = sock;
        pfd.reqevents = APR_POLLIN;
        if (apr_poll(&pfd, 1, &n, apr_time_from_msec(50)) == APR_SUCCESS && n > 0) {
            int eof = 0;
            /* Hang-up, error, or a socket httpd closed under us (a stopping
             * event MPM child does that): gone as well. */
            if ((pfd.rtnevents & ~APR_POLLIN) != 0 || apr_socket_atreadeof(sock, &eof) != APR_SUCCESS || eof)
                return (apr_int64_t)apr_time_as_msec(apr_time_now() - start);
            apr_sleep(apr_time_from_msec(50));
        }
    }
    return -1;
}

static int endpoint(request_rec *r)
{
    test_conf *conf;
    apr_table_t *args = NULL;
    const char *v;
    int status = 200;
    apr_off_t body_len = 0;
    char buf[8192];
    if (!r->handler || strcmp(r->handler, "bgtest-endpoint") != 0) return DECLINED;
    conf = ap_get_module_config(r->server->module_config, &bgtest_module);
    ap_args_to_table(r, &args);
    if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) == OK && ap_should_client_block(r)) {
        long n;
        while ((n = ap_get_client_block(r, buf, sizeof buf)) > 0) body_len += n;
    }
    log_json(conf->endpoint_log,
             apr_psprintf(r->pool,
                          "{\"method\": %s, \"uri\": %s, \"args\": %s, \"job\": %s, \"slot\": %s, \"slot_start\": %s, "
                          "\"token\": %s, \"node\": %s, \"attempt\": %s, \"x_test\": %s, \"host\": %s, "
                          "\"https\": %s, \"body_length\": %" APR_OFF_T_FMT "}",
                          json_str(r->pool, r->method), json_str(r->pool, r->uri), json_str(r->pool, r->args),
                          json_str(r->pool, apr_table_get(r->headers_in, "X-Backgrounder-Job")),
                          json_str(r->pool, apr_table_get(r->headers_in, "X-Backgrounder-Slot")),
                          json_str(r->pool, apr_table_get(r->headers_in, "X-Backgrounder-Slot-Start")),
                          json_str(r->pool, apr_table_get(r->headers_in, "X-Backgrounder-Token")),
                          json_str(r->pool, apr_table_get(r->headers_in, "X-Backgrounder-Node")),
                          json_str(r->pool, apr_table_get(r->headers_in, "X-Backgrounder-Attempt")),
                          json_str(r->pool, apr_table_get(r->headers_in, "X-Test")),
                          json_str(r->pool, apr_table_get(r->headers_in, "Host")),
                          ap_http_scheme(r) && strcmp(ap_http_scheme(r), "https") == 0 ? "true" : "false",
                          body_len));
    if ((v = apr_table_get(args, "sleep")) != NULL) {
        apr_int64_t gone = wait_or_gone(r, apr_atoi64(v));
        if (gone >= 0) {
            /* Whose request it was, and when (ms since the epoch) it went. */
            log_json(conf->endpoint_log,
                     apr_psprintf(r->pool,
                                  "{\"gone_after_ms\": %" APR_INT64_T_FMT ", \"job\": %s, \"token\": %s, "
                                  "\"at_ms\": %" APR_INT64_T_FMT "}",
                                  gone, json_str(r->pool, apr_table_get(r->headers_in, "X-Backgrounder-Job")),
                                  json_str(r->pool, apr_table_get(r->headers_in, "X-Backgrounder-Token")),
                                  (apr_int64_t)apr_time_as_msec(apr_time_now())));
            return DONE;
        }
    }
    if ((v = apr_table_get(args, "status")) != NULL) status = atoi(v);
    r->status = status;
    if ((v = apr_table_get(args, "location")) != NULL) {
        const char *pad = apr_table_get(args, "pad");
        apr_size_t n = pad ? (apr_size_t)apr_atoi64(pad) : 0;
        char *loc = apr_palloc(r->pool, strlen(v) + n + 1);
        memcpy(loc, v, strlen(v));
        memset(loc + strlen(v), 'a', n);
        loc[strlen(v) + n] = '\0';
        apr_table_setn(r->headers_out, "Location", loc);
    }
    ap_set_content_type(r, "text/plain");
    if ((v = apr_table_get(args, "big")) != NULL) {
        apr_int64_t left = apr_atoi64(v);
        memset(buf, 'x', sizeof buf);
        while (left > 0) {
            apr_size_t n = left < (apr_int64_t)sizeof buf ? (apr_size_t)left : sizeof buf;
            if (ap_rwrite(buf, (int)n, r) < 0) break;
            left -= (apr_int64_t)n;
        }
    } else if ((v = apr_table_get(args, "body")) != NULL) {
        ap_rputs(v, r);
    } else {
        ap_rprintf(r, "endpoint answered %d\n", status);
    }
    return OK;
}

static const char *set_endpoint_log(cmd_parms *cmd, void *dummy, const char *file)
{
    test_conf *conf = ap_get_module_config(cmd->server->module_config, &bgtest_module);
    (void)dummy;
    conf->endpoint_log = file;
    return NULL;
}

/* ---- configuration */

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
    AP_INIT_TAKE1("BgTestEndpointLog", set_endpoint_log, NULL, RSRC_CONF, "where bgtest-endpoint logs requests"),
    {NULL}};

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(register_jobs, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(endpoint, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA bgtest_module = {
    STANDARD20_MODULE_STUFF, NULL, NULL, create_conf, NULL, cmds, register_hooks,
#if defined(AP_MODULE_FLAG_NONE)
    AP_MODULE_FLAG_NONE
#endif
};
