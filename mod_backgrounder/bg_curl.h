// libcurl, opened when url= jobs need it rather than linked into the module.
//
// Linking libcurl would load it, and the ~35 libraries it pulls in (TLS,
// Kerberos, LDAP, SSH, ...), into httpd's parent and so into every process
// httpd forks: mod_cgid's daemon, and every CGI it forks, paid for ~170 more
// mappings per fork, ~20% of CGI throughput in bench/request_bench.py, with
// no url= job configured. Now only a server with url= jobs loads libcurl:
// the glue calls LoadCurl() in the parent's post_config when one is
// configured, before any thread exists (curl_global_init's requirement), and
// the children inherit it.
#ifndef BG_CURL_H
#define BG_CURL_H

#include <curl/curl.h>

#include "bg_error.h"

namespace bg {

// The libcurl functions the URL runner uses.
struct CurlApi {
  decltype(&curl_global_init) global_init;
  decltype(&curl_easy_init) easy_init;
  decltype(&curl_easy_setopt) easy_setopt;
  decltype(&curl_easy_getinfo) easy_getinfo;
  decltype(&curl_easy_strerror) easy_strerror;
  decltype(&curl_easy_cleanup) easy_cleanup;
  decltype(&curl_multi_init) multi_init;
  decltype(&curl_multi_add_handle) multi_add_handle;
  decltype(&curl_multi_remove_handle) multi_remove_handle;
  decltype(&curl_multi_perform) multi_perform;
  decltype(&curl_multi_poll) multi_poll;
  decltype(&curl_multi_info_read) multi_info_read;
  decltype(&curl_multi_strerror) multi_strerror;
  decltype(&curl_multi_cleanup) multi_cleanup;
  decltype(&curl_slist_append) slist_append;
  decltype(&curl_slist_free_all) slist_free_all;
};

// Opens libcurl (once per process; it is never closed) and calls
// curl_global_init. On success sets *api (if api is not null) to the
// process-wide table, which is not owned by the caller; on failure says why
// (e.g. "libcurl.so.4: cannot open shared object file"). Thread-safe, but
// the first call must come before other threads use libcurl.
Status LoadCurl(const CurlApi** api);

// True once LoadCurl() succeeded in this process (for tests and benchmarks).
bool CurlLoaded();

}  // namespace bg

#endif  // BG_CURL_H
