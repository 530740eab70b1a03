#include "migrate/pg/cancel.hpp"

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace migrate::pg {
namespace {

// libpq's cancel handle for one connection. Shared, so that a cancel request still running when
// its connection closes keeps it alive; `busy` keeps one request per connection at a time.
struct CancelHandle {
  explicit CancelHandle(PGcancel* handle) : cancel(handle) {}
  ~CancelHandle() { PQfreeCancel(cancel); }
  PGcancel* cancel;
  std::atomic<bool> busy{false};
};

struct Entry {
  std::shared_ptr<CancelHandle> handle;
  int shields = 0;
};

std::mutex mutex;
// With `mutex`: a cancel request returned. Never destroyed: a detached request thread may still
// notify it while the process exits.
std::condition_variable& request_answered() {
  static auto* answered = new std::condition_variable;
  return *answered;
}
// How long a shield waits for a request already sent; a server that never answers it must not
// hold up the release of locks for ever.
constexpr std::chrono::seconds answer_wait{5};
std::map<const pqxx::connection_base*, Entry>& entries() {
  static std::map<const pqxx::connection_base*, Entry> all;
  return all;
}

}  // namespace

namespace detail {

void register_for_cancel(const pqxx::connection_base& db, void* pgconn) {
  PGcancel* cancel = PQgetCancel(static_cast<PGconn*>(pgconn));
  if (!cancel) return;
  auto handle = std::make_shared<CancelHandle>(cancel);
  std::lock_guard lock(mutex);
  entries()[&db].handle = std::move(handle);
}

void unregister_for_cancel(const pqxx::connection_base& db) noexcept {
  std::lock_guard lock(mutex);
  entries().erase(&db);
}

}  // namespace detail

void cancel_in_flight() {
  std::vector<std::shared_ptr<CancelHandle>> targets;
  {
    std::lock_guard lock(mutex);
    for (auto& [db, entry] : entries())
      if (entry.shields == 0 && entry.handle && !entry.handle->busy.exchange(true)) targets.push_back(entry.handle);
  }
  // PQcancel connects to the server and waits for it: one thread per request, so that a server
  // that does not answer holds up neither the others nor the caller (the signal thread).
  for (auto& target : targets) {
    std::thread([target] {
      char error[256];
      PQcancel(target->cancel, error, sizeof error);  // nothing in flight is fine too
      {
        std::lock_guard lock(mutex);
        target->busy = false;
      }
      request_answered().notify_all();
    }).detach();
  }
}

ShieldFromCancel::ShieldFromCancel(const pqxx::connection_base& db) : db_(db) {
  std::unique_lock lock(mutex);
  const auto it = entries().find(&db_);
  if (it == entries().end()) return;
  ++it->second.shields;
  // A request sent just before would cancel the first shielded statement: wait until the server
  // has answered it (it then finds the connection idle and does nothing).
  const auto handle = it->second.handle;
  if (handle) request_answered().wait_for(lock, answer_wait, [&] { return !handle->busy; });
}

ShieldFromCancel::~ShieldFromCancel() {
  std::lock_guard lock(mutex);
  const auto it = entries().find(&db_);
  if (it != entries().end()) --it->second.shields;
}

}  // namespace migrate::pg
