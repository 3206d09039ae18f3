#include "bg_curl.h"

#include <dlfcn.h>
#include <stdio.h>

#include <mutex>

namespace bg {
namespace {

// Trivially constructed and destroyed: safe as statics in a child that runs
// static destructors at exit.
std::once_flag g_once;
CurlApi g_api;
bool g_loaded = false;
char g_error[512];

template <typename T>
bool Symbol(void* lib, const char* name, T* out) {
  *out = reinterpret_cast<T>(dlsym(lib, name));
  if (!*out) snprintf(g_error, sizeof g_error, "libcurl.so.4 has no %s", name);
  return *out != nullptr;
}

void Load() {
  void* lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* why = dlerror();
    snprintf(g_error, sizeof g_error, "cannot load libcurl: %s", why ? why : "dlopen failed");
    return;
  }
  CurlApi a;
  if (!Symbol(lib, "curl_global_init", &a.global_init) || !Symbol(lib, "curl_easy_init", &a.easy_init) ||
      !Symbol(lib, "curl_easy_setopt", &a.easy_setopt) || !Symbol(lib, "curl_easy_getinfo", &a.easy_getinfo) ||
      !Symbol(lib, "curl_easy_strerror", &a.easy_strerror) || !Symbol(lib, "curl_easy_cleanup", &a.easy_cleanup) ||
      !Symbol(lib, "curl_multi_init", &a.multi_init) ||
      !Symbol(lib, "curl_multi_add_handle", &a.multi_add_handle) ||
      !Symbol(lib, "curl_multi_remove_handle", &a.multi_remove_handle) ||
      !Symbol(lib, "curl_multi_perform", &a.multi_perform) || !Symbol(lib, "curl_multi_poll", &a.multi_poll) ||
      !Symbol(lib, "curl_multi_info_read", &a.multi_info_read) ||
      !Symbol(lib, "curl_multi_strerror", &a.multi_strerror) ||
      !Symbol(lib, "curl_multi_cleanup", &a.multi_cleanup) || !Symbol(lib, "curl_slist_append", &a.slist_append) ||
      !Symbol(lib, "curl_slist_free_all", &a.slist_free_all)) {
    return;  // (the library stays open: closing it could run its destructors twice)
  }
  // Reference-counted; never cleaned up, as children may still use it
  // while the parent reloads.
  const CURLcode rc = a.global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) {
    snprintf(g_error, sizeof g_error, "curl_global_init failed (code %d)", static_cast<int>(rc));
    return;
  }
  g_api = a;
  g_loaded = true;
}

}  // namespace

Status LoadCurl(const CurlApi** api) {
  std::call_once(g_once, Load);
  if (!g_loaded) return Status::Error(g_error);
  if (api) *api = &g_api;
  return Status::Ok();
}

bool CurlLoaded() {
  return g_loaded;
}

}  // namespace bg
