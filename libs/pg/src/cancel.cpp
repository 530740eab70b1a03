#include "migrate/pg/cancel.hpp"

#include <libpq-fe.h>

#include <map>
#include <mutex>

namespace migrate::pg {
namespace {

struct Entry {
  PGcancel* cancel = nullptr;
  int shields = 0;
};

std::mutex mutex;
std::map<const pqxx::connection_base*, Entry>& entries() {
  static std::map<const pqxx::connection_base*, Entry> all;
  return all;
}

}  // namespace

namespace detail {

void register_for_cancel(const pqxx::connection_base& db, void* pgconn) {
  PGcancel* cancel = PQgetCancel(static_cast<PGconn*>(pgconn));
  if (!cancel) return;
  std::lock_guard lock(mutex);
  auto& entry = entries()[&db];
  if (entry.cancel) PQfreeCancel(entry.cancel);
  entry.cancel = cancel;
}

void unregister_for_cancel(const pqxx::connection_base& db) noexcept {
  std::lock_guard lock(mutex);
  const auto it = entries().find(&db);
  if (it == entries().end()) return;
  if (it->second.cancel) PQfreeCancel(it->second.cancel);
  entries().erase(it);
}

}  // namespace detail

void cancel_in_flight() {
  std::lock_guard lock(mutex);
  for (auto& [db, entry] : entries()) {
    if (entry.shields > 0 || !entry.cancel) continue;
    char error[256];
    PQcancel(entry.cancel, error, sizeof error);  // nothing in flight is fine too
  }
}

ShieldFromCancel::ShieldFromCancel(const pqxx::connection_base& db) : db_(db) {
  std::lock_guard lock(mutex);
  const auto it = entries().find(&db_);
  if (it != entries().end()) ++it->second.shields;
}

ShieldFromCancel::~ShieldFromCancel() {
  std::lock_guard lock(mutex);
  const auto it = entries().find(&db_);
  if (it != entries().end()) --it->second.shields;
}

}  // namespace migrate::pg
