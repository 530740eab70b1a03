#pragma once
// One runner per tenant at a time, whether this tool in another process or knex itself.
//
// Two locks are taken together:
// - a PostgreSQL advisory lock keyed on the ledger table, which dies with its session, so a
//   killed runner never leaves a tenant locked for good;
// - knex's lock row (is_locked in <table>_lock), taken the way knex takes it, so knex and this
//   tool exclude each other.
// When this tool must keep the row set across transactions (per-migration mode) it writes
// is_locked = 2: knex reads any non-zero value as locked, and a runner that holds the advisory
// lock and finds a 2 knows the runner that wrote it is dead and clears it. A 1 was written by
// knex and is respected.
#include <pqxx/connection_base>
#include <pqxx/transaction_base>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "migrate/core/error.hpp"
#include "migrate/ledger/ledger.hpp"

namespace migrate::ledger {

// The value of knex's lock row while a runner of ours holds the tenant across transactions (knex
// reads any non-zero value as locked); left behind, it means that runner died.
inline constexpr int held_by_migrate = 2;

// Another runner held the tenant for longer than we were willing to wait. Not retried: the
// wait was the retry.
class BusyError : public RunError {
 public:
  explicit BusyError(const std::string& message) : RunError(message) {}
};

// knex's lock row is set by knex (is_locked = 1): a knex migration is running, or died holding
// it. Transient: a running knex migration ends.
class KnexLockHeld : public RunError {
 public:
  explicit KnexLockHeld(const std::string& message) : RunError(message, true) {}
};

// The advisory lock key of `ledger`: a 64-bit hash of its table name.
std::int64_t advisory_key(const Ledger& ledger);

// Locks the tenant for the rest of `tx`: the advisory lock (waiting up to `wait`), the ledger
// tables created if missing, knex's lock row checked, repaired and set. Returns warnings about
// repairs. Throws BusyError after `wait`, KnexLockHeld when knex holds the row.
std::vector<std::string> lock_in_transaction(pqxx::transaction_base& tx, const Ledger& ledger,
                                             std::chrono::milliseconds wait);
// Clears knex's lock row before `tx` commits (the advisory lock goes with the transaction).
void unlock_in_transaction(pqxx::transaction_base& tx, const Ledger& ledger);

// Holds the tenant across several transactions (per-migration mode and transaction:false).
class SessionLock {
 public:
  // Same contract as lock_in_transaction().
  SessionLock(pqxx::connection_base& db, const Ledger& ledger, std::chrono::milliseconds wait);
  ~SessionLock();  // releases quietly if release() was not called
  SessionLock(const SessionLock&) = delete;
  SessionLock& operator=(const SessionLock&) = delete;

  // Clears the lock row and the advisory lock, shielded from cancellation (a stop request must
  // not leave the row set); throws if the database cannot be reached. Does nothing once the
  // connection broke: the advisory lock went with the session, and the next runner clears the row.
  void release();
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  void unlock_advisory_quietly() noexcept;

  pqxx::connection_base& db_;
  const Ledger& ledger_;
  bool held_ = false;
  std::vector<std::string> warnings_;
};

// Clears knex's lock row whoever set it, as knex's migrate:unlock does, and returns the value it
// had. Refuses with InputError while another session holds the tenant's advisory lock: a runner
// of ours is working on it, and clearing its row would let knex in.
int force_unlock(pqxx::connection_base& db, const Ledger& ledger);

}  // namespace migrate::ledger
