#pragma once
// A migration's statements under lock_timeout and statement_timeout, so that DDL never queues
// for long behind application transactions (and every query behind it); and, when a lock
// timeout cuts one short, which sessions held the locks it waited for.
#include <pqxx/connection_base>

#include <exception>
#include <string>

#include "migrate/runner/engine.hpp"

namespace migrate::runner {

// A migration's statement waited longer than run.lockTimeoutMs for a lock. Transient when the
// statement ran in a transaction (rolled back as a whole, so trying again is safe); `sql` is the
// text that ran, never shown, used to tell the sessions holding its tables from others.
class LockTimeoutError : public MigrationError {
 public:
  LockTimeoutError(const std::string& message, std::string sql, bool transient)
      : MigrationError(message, transient), sql_(std::move(sql)) {}
  const std::string& sql() const { return sql_; }

 private:
  std::string sql_;
};

// Sets the session's lock_timeout and statement_timeout from `options`. One round trip. The
// engine sets them again before each migration, so that a migration's own SET (pg_dump output
// starts with `SET lock_timeout = 0`) ends with that migration.
void set_migration_timeouts(pqxx::connection_base& db, const EngineOptions& options);
// The same as SQL, to run inside a migration's transaction.
std::string migration_timeouts_sql(const EngineOptions& options);

// Whether `error` is PostgreSQL's lock_not_available (55P03: a lock timeout, or NOWAIT).
bool is_lock_timeout(const std::exception& error);

// The sessions of this database that hold relation locks in a transaction, those on a table
// `sql` mentions first: "blocked by pid 4242 (application 'psql', user 'app', idle in
// transaction for 12 s) holding AccessShareLock on public.items". Never their query text, which
// may hold an application's data. Empty when there are none, or they cannot be read (the
// connection is gone, a stop was requested). Call it on a connection with no transaction open.
std::string describe_blockers(pqxx::connection_base& db, const std::string& sql);

// `error` with the sessions that blocked it appended (as describe_blockers() tells them).
LockTimeoutError with_blockers(pqxx::connection_base& db, const LockTimeoutError& error);

}  // namespace migrate::runner
