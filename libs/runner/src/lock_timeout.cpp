#include "migrate/runner/lock_timeout.hpp"

#include <pqxx/pqxx>

#include <vector>

#include "migrate/core/interrupt.hpp"
#include "migrate/pg/errors.hpp"
#include "migrate/runner/invalid_indexes.hpp"

namespace migrate::runner {
namespace {

constexpr const char* lock_not_available = "55P03";
constexpr std::size_t most_named = 3;  // a long list would drown the reason

struct Holder {
  int pid = 0;
  std::string application;
  std::string user;
  std::string state;  // empty when not visible to our role
  long long seconds = -1;
  std::string mode;
  std::string schema;
  std::string table;
};

std::string describe(const Holder& holder) {
  std::string text =
      "pid " + std::to_string(holder.pid) + " (application '" + holder.application + "', user '" + holder.user + "'";
  const std::string age = holder.seconds < 0 ? "" : std::to_string(holder.seconds) + " s";
  if (holder.state.rfind("idle in transaction", 0) == 0)
    text += ", " + holder.state + (age.empty() ? "" : " for " + age);  // "idle in transaction for 12 s"
  else if (!holder.state.empty())
    text += ", " + holder.state + (age.empty() ? "" : ", its transaction open for " + age);
  return text + ") holding " + holder.mode + " on " + holder.schema + "." + holder.table;
}

}  // namespace

std::string migration_timeouts_sql(const EngineOptions& options) {
  return "SET lock_timeout = " + std::to_string(options.lock_timeout.count()) +
         "; SET statement_timeout = " + std::to_string(options.statement_timeout.count());
}

void set_migration_timeouts(pqxx::connection_base& db, const EngineOptions& options) {
  // Session settings, so that they hold in every transaction and outside them (transaction:false).
  pqxx::nontransaction(db).exec(migration_timeouts_sql(options));
}

bool is_lock_timeout(const std::exception& error) {
  const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error);
  return sql && sql->sqlstate() == lock_not_available;
}

std::string describe_blockers(pqxx::connection_base& db, const std::string& sql) {
  if (interrupt::requested()) return {};
  std::vector<Holder> holders;
  try {
    pqxx::read_transaction tx(db);
    // Relation locks granted to other sessions of this database, in a transaction (a lock outside
    // one is the session's own statement, gone by now). state and xact_start are null for another
    // role's session unless we may read all statistics; the query column is never read. Autovacuum
    // gives way to DDL by itself: never the one to name.
    const auto rows = tx.exec(
        "SELECT l.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''), coalesce(a.state, ''), "
        "coalesce(extract(epoch FROM now() - a.xact_start)::bigint, -1), l.mode, n.nspname, c.relname "
        "FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid() "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' "
        "AND (a.xact_start IS NOT NULL OR a.state IS NULL) "
        "AND a.backend_type IS DISTINCT FROM 'autovacuum worker' "
        "ORDER BY a.xact_start NULLS LAST, l.pid, n.nspname, c.relname");
    for (const auto& row : rows)
      holders.push_back({row[0].as<int>(), row[1].c_str(), row[2].c_str(), row[3].c_str(), row[4].as<long long>(),
                         row[5].c_str(), row[6].c_str(), row[7].c_str()});
  } catch (const std::exception&) {
    return {};  // the reason stays PostgreSQL's own
  }
  // One line per session, naming a table the migration mentions when it holds one; those sessions first.
  std::vector<Holder> named;
  auto add = [&](const Holder& holder, bool mentioned_only) {
    for (auto& existing : named) {
      if (existing.pid != holder.pid) continue;
      if (!mentions_name(sql, existing.table) && mentions_name(sql, holder.table)) existing = holder;
      return;
    }
    if (!mentioned_only || mentions_name(sql, holder.table)) named.push_back(holder);
  };
  for (const auto& holder : holders) add(holder, true);
  for (const auto& holder : holders) add(holder, false);
  std::string text;
  for (std::size_t i = 0; i < named.size() && i < most_named; ++i)
    text += (text.empty() ? "blocked by " : "; ") + describe(named[i]);
  if (named.size() > most_named) text += "; and " + std::to_string(named.size() - most_named) + " more sessions";
  return pg::scrub(text);
}

LockTimeoutError with_blockers(pqxx::connection_base& db, const LockTimeoutError& error) {
  const auto blockers = describe_blockers(db, error.sql());
  if (blockers.empty()) return error;
  return LockTimeoutError(std::string(error.what()) + "; " + blockers, error.sql(), error.transient());
}

}  // namespace migrate::runner
