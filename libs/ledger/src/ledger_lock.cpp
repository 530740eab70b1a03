#include "migrate/ledger/ledger_lock.hpp"

#include <pqxx/pqxx>

#include "migrate/core/interrupt.hpp"
#include "migrate/pg/cancel.hpp"

namespace migrate::ledger {
namespace {

constexpr const char* lock_not_available = "55P03";
constexpr int held_by_knex = 1;
// The wait for the ledger's lock is bounded by its own lock_timeout alone, not cut short by run.statementTimeoutMs.
constexpr const char* no_statement_timeout = "SET LOCAL statement_timeout = 0";

std::string key_text(const Ledger& ledger) {
  return std::to_string(advisory_key(ledger));
}
std::string timeout_text(std::chrono::milliseconds wait) {
  return "'" + std::to_string(std::max<std::int64_t>(1, wait.count())) + "ms'";
}

BusyError busy(const Ledger& ledger, std::chrono::milliseconds wait) {
  return BusyError("busy: another runner held the lock on " + ledger.table_name() + " for more than " +
                   std::to_string(wait.count() / 1000) + "s; try again when it is done");
}

// With the advisory lock held: makes sure knex's lock table has exactly one row, respects a row
// set by knex, clears one left by a dead runner of ours, and sets it to `value`.
std::vector<std::string> take_lock_row(pqxx::transaction_base& tx, const Ledger& ledger, int value) {
  std::vector<std::string> warnings;
  const auto& lock_table = ledger.quoted_lock_table();
  const auto rows = tx.exec("SELECT index, is_locked FROM " + lock_table + " ORDER BY index FOR UPDATE");
  if (rows.empty()) {
    tx.exec("INSERT INTO " + lock_table + " (is_locked) VALUES (0)");
  } else if (rows.size() > 1) {
    // knex can insert the row twice when two processes create the table at once; it then reports
    // the table as locked forever. Keep the first row.
    tx.exec_params("DELETE FROM " + lock_table + " WHERE index <> $1", rows[0][0].as<int>());
    warnings.push_back("repaired " + ledger.lock_table_name() + ": it had " + std::to_string(rows.size()) +
                       " rows, knex expects one");
  }
  const int is_locked = rows.empty() ? 0 : rows[0][1].as<int>(0);
  if (is_locked == held_by_migrate)
    warnings.push_back("cleared a lock left in " + ledger.lock_table_name() + " by a runner that died");
  else if (is_locked != 0)
    throw KnexLockHeld(ledger.lock_table_name() +
                       " is set (is_locked = 1): a knex migration is running, or one died holding it; if none is "
                       "running, clear it with `migrate unlock`");
  tx.exec_params("UPDATE " + lock_table + " SET is_locked = $1", value);
  return warnings;
}

}  // namespace

std::int64_t advisory_key(const Ledger& ledger) {
  std::uint64_t hash = 1469598103934665603ull;  // FNV-1a
  for (const char c : "migrate:ledger:" + ledger.table_name()) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return static_cast<std::int64_t>(hash);
}

std::vector<std::string> lock_in_transaction(pqxx::transaction_base& tx, const Ledger& ledger,
                                             std::chrono::milliseconds wait) {
  try {
    // The session's own timeouts (run.lockTimeoutMs, run.statementTimeoutMs, set by the engine)
    // come back once the lock is held: TO DEFAULT would give the server's instead.
    const auto saved = tx.exec("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")[0];
    // lock_timeout bounds both the advisory lock and a row lock knex may hold in its own transaction.
    tx.exec("SET LOCAL lock_timeout = " + timeout_text(wait) + "; " + no_statement_timeout +
            "; SELECT pg_advisory_xact_lock(" + key_text(ledger) + ")");
    ledger.create_tables(tx);
    auto warnings = take_lock_row(tx, ledger, held_by_knex);
    tx.exec_params("SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)",
                   saved[0].c_str(), saved[1].c_str());
    return warnings;
  } catch (const pqxx::sql_error& error) {
    if (error.sqlstate() == lock_not_available) throw busy(ledger, wait);
    throw;
  }
}

void unlock_in_transaction(pqxx::transaction_base& tx, const Ledger& ledger) {
  tx.exec("UPDATE " + ledger.quoted_lock_table() + " SET is_locked = 0");
}

SessionLock::SessionLock(pqxx::connection_base& db, const Ledger& ledger, std::chrono::milliseconds wait)
    : db_(db), ledger_(ledger) {
  try {
    {
      // In a transaction of its own so that SET LOCAL gives the session's own timeouts back
      // (RESET would give the server's); the session-level advisory lock outlives it.
      pqxx::work tx(db_);
      tx.exec("SET LOCAL lock_timeout = " + timeout_text(wait) + "; " + no_statement_timeout +
              "; SELECT pg_advisory_lock(" + key_text(ledger_) + ")");
      tx.commit();
    }
    try {
      pqxx::work tx(db_);
      tx.exec("SET LOCAL lock_timeout = " + timeout_text(wait) + "; " + no_statement_timeout);
      ledger_.create_tables(tx);
      warnings_ = take_lock_row(tx, ledger_, held_by_migrate);
      tx.commit();
    } catch (...) {
      unlock_advisory_quietly();
      throw;
    }
  } catch (const pqxx::sql_error& error) {
    if (error.sqlstate() == lock_not_available) throw busy(ledger_, wait);
    throw;
  }
  held_ = true;
}

void SessionLock::unlock_advisory_quietly() noexcept {
  try {
    if (!db_.is_open()) return;
    const pg::ShieldFromCancel shield(db_);
    pqxx::nontransaction(db_).exec("SELECT pg_advisory_unlock(" + key_text(ledger_) + ")");
  } catch (...) {
    // The connection is gone, and the advisory lock with it.
  }
}

void SessionLock::release() {
  if (!held_) return;
  held_ = false;
  if (!db_.is_open()) return;
  const pg::ShieldFromCancel shield(db_);
  // After a stop request a cancel may have hit the ROLLBACK of the migration's transaction.
  if (interrupt::requested()) pqxx::nontransaction(db_).exec("ROLLBACK");
  pqxx::work tx(db_);
  // A stop must not wait for ever behind a session holding the row; the next runner clears a 2.
  tx.exec("SET LOCAL lock_timeout = '5s'");
  tx.exec_params("UPDATE " + ledger_.quoted_lock_table() + " SET is_locked = 0 WHERE is_locked = $1", held_by_migrate);
  tx.exec("SELECT pg_advisory_unlock(" + key_text(ledger_) + ")");
  tx.commit();
}

SessionLock::~SessionLock() {
  try {
    release();
  } catch (...) {
    // The connection is gone: the advisory lock went with it, and the next runner clears the row.
  }
}

int force_unlock(pqxx::connection_base& db, const Ledger& ledger) {
  pqxx::work tx(db);
  if (tx.exec_params("SELECT to_regclass($1) IS NULL", ledger.quoted_lock_table())[0][0].as<bool>())
    return 0;  // never migrated: nothing to unlock
  // Held for the rest of this transaction only, so that no runner starts while the row is cleared.
  if (!tx.exec("SELECT pg_try_advisory_xact_lock(" + key_text(ledger) + ")")[0][0].as<bool>()) {
    // Advisory locks are per database and every tenant's key is the same: only this database's holder.
    const auto holder = tx.exec(
        "SELECT l.pid, coalesce(a.application_name, '') FROM pg_locks l LEFT JOIN pg_stat_activity a USING (pid) "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid() AND "
        "l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND "
        "((l.classid::bigint << 32) | l.objid::bigint) = " +
        key_text(ledger) + " LIMIT 1");
    const std::string who = holder.empty() ? std::string("another session")
                                           : "backend pid " + holder[0][0].as<std::string>() + ", application '" +
                                                 holder[0][1].as<std::string>() + "'";
    throw InputError("not unlocked: a migrate runner holds this tenant (" + who +
                     "); its lock row is cleared when it finishes, or within a second of it dying");
  }
  const auto rows = tx.exec("SELECT coalesce(max(is_locked), 0) FROM " + ledger.quoted_lock_table());
  tx.exec("UPDATE " + ledger.quoted_lock_table() + " SET is_locked = 0");
  tx.commit();
  return rows[0][0].as<int>(0);
}

}  // namespace migrate::ledger
