// The status page's store: a viewer (it never creates or migrates anything)
// on one connection per child process, lent to one request at a time.
//
// The connection is opened by the child's first page view and kept until
// the child exits: page views cost no connect, schema check or prepare
// each. event and worker serve requests on many threads, so a mutex lends
// it; a request waits at most kWait for it and otherwise shows the store as
// unavailable. Its memory is a pool with an allocator of its own (used only
// under the mutex). A SQLite file that was deleted or replaced is noticed
// before each use: the connection is dropped, and a missing file is
// refused, never created. BackgrounderStore dbd borrows a connection of
// mod_dbd's pool per request instead: mod_dbd already keeps connections.
#include <apr_allocator.h>
#include <apr_thread_mutex.h>
#include <http_main.h>

#include <sys/stat.h>

#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "bg_sql_store.h"
#include "mod_backgrounder_internal.h"

APLOG_USE_MODULE(backgrounder);

namespace bg {

struct PageStore::Shared {
  apr_pool_t* pool = nullptr;  // own allocator; used under `mutex` only
  apr_thread_mutex_t* mutex = nullptr;
  std::unique_ptr<SqlLeaseStore> store;
  // SQLite: the file the connection has open (to notice a new or no file).
  bool have_file = false;
  dev_t dev = 0;
  ino_t ino = 0;
};

namespace {

constexpr apr_interval_time_t kWait = apr_time_from_sec(1);

// This child's; a plain pointer (no static object), set once in child_init.
PageStore::Shared* g_shared = nullptr;

apr_status_t DestroyShared(void* data) {
  auto* shared = static_cast<PageStore::Shared*>(data);
  g_shared = nullptr;
  shared->store.reset();  // closes the connection; its memory is in shared->pool
  apr_pool_destroy(shared->pool);
  delete shared;
  return APR_SUCCESS;
}

// SQLite: drops the connection if the file is gone or another file took its
// name since it was opened (the connector then refuses a missing file).
void CheckSqliteFile(PageStore::Shared* shared, const char* path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    if (shared->store) shared->store->Disconnect();
    shared->have_file = false;
    return;
  }
  if (shared->have_file && (st.st_dev != shared->dev || st.st_ino != shared->ino) && shared->store) {
    shared->store->Disconnect();
  }
  shared->have_file = true;
  shared->dev = st.st_dev;
  shared->ino = st.st_ino;
}

}  // namespace

void PageStoreChildInit(apr_pool_t* pchild, server_rec*) {
  try {
    apr_allocator_t* allocator = nullptr;
    if (apr_allocator_create(&allocator) != APR_SUCCESS) return;
    auto* shared = new PageStore::Shared;
    apr_pool_create_ex(&shared->pool, pchild, nullptr, allocator);
    apr_allocator_owner_set(allocator, shared->pool);
    if (apr_thread_mutex_create(&shared->mutex, APR_THREAD_MUTEX_TIMED, shared->pool) != APR_SUCCESS) {
      apr_pool_destroy(shared->pool);
      delete shared;
      return;
    }
    g_shared = shared;
    // Before pchild's sub-pools go: the store's pools live in shared->pool.
    apr_pool_pre_cleanup_register(pchild, shared, DestroyShared);
  } catch (...) {
  }
}

PageStore::PageStore(request_rec* r, const ServerConfig* conf) {
  const bool dbd = strcmp(StoreDriver(conf), "dbd") == 0;
  if (dbd || !g_shared) {  // (no child_init: a store for this request alone)
    const Status made = MakeViewerStore(r->pool, ap_server_conf, conf, &own_);
    if (!made.ok()) error_ = made.message();
    store_ = own_.get();
    return;
  }
  if (apr_thread_mutex_timedlock(g_shared->mutex, kWait) != APR_SUCCESS) {
    error_ = "the store's connection is busy with another request to this server process (waited 1 s)";
    return;
  }
  shared_ = g_shared;
  if (strcmp(StoreDriver(conf), "sqlite3") == 0) CheckSqliteFile(shared_, StorePath(conf));
  if (!shared_->store) {
    const Status made = MakeViewerStore(shared_->pool, ap_server_conf, conf, &shared_->store);
    if (!made.ok()) error_ = made.message();
  }
  store_ = shared_->store.get();
}

PageStore::~PageStore() {
  if (shared_) apr_thread_mutex_unlock(shared_->mutex);
}

}  // namespace bg
