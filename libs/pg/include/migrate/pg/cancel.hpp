#pragma once
// Cancelling the statements in flight when the run is asked to stop (SIGINT, SIGTERM).
// Every open Connection can be cancelled, except while it is shielded (releasing locks).
#include <pqxx/connection_base>

namespace migrate::pg {

// Sends a cancel request for the statement running on every open connection that is not
// shielded, each from a short-lived thread of its own (libpq opens a connection per request and
// waits for the server), so it returns at once. Safe to call from any thread.
void cancel_in_flight();

// While it lives, cancel_in_flight() passes over `db`: for the statements that put things back.
// It first waits (up to 5 s) for a cancel request already sent on `db` to be answered.
class ShieldFromCancel {
 public:
  explicit ShieldFromCancel(const pqxx::connection_base& db);
  ~ShieldFromCancel();
  ShieldFromCancel(const ShieldFromCancel&) = delete;
  ShieldFromCancel& operator=(const ShieldFromCancel&) = delete;

 private:
  const pqxx::connection_base& db_;
};

namespace detail {
// Called by Connection as it opens and closes.
void register_for_cancel(const pqxx::connection_base& db, void* pgconn);
void unregister_for_cancel(const pqxx::connection_base& db) noexcept;
}  // namespace detail

}  // namespace migrate::pg
