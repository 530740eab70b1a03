#include "chaos/trial_set.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace chaos {
namespace {

bool relation_exists(pqxx::transaction_base& tx, const std::string& name) {
  return !tx.exec("SELECT to_regclass(" + tx.quote("public." + name) + ")")[0][0].is_null();
}

std::string required_env(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value)
    throw std::runtime_error(std::string(name) +
                             " is not set: run the trials through scripts/test.sh or scripts/chaos.sh");
  return value;
}

// A transactional migration: `sql`, its effect row, and a short sleep so that runs last long
// enough for a kill to land inside them.
Migration transactional(const std::string& name, const std::string& sql,
                        std::function<bool(pqxx::transaction_base&)> applied) {
  Migration migration;
  migration.name = name;
  migration.text = "-- migrate:up\n" + sql + "\nINSERT INTO chaos_effects (migration) VALUES ('" + name +
                   "');\nSELECT pg_sleep(0.05);\n";
  migration.applied = std::move(applied);
  return migration;
}

// A transaction:false migration, idempotent as the README asks: a sleep (a window for a kill
// before the index), then one CREATE INDEX CONCURRENTLY IF NOT EXISTS.
Migration concurrent_index(const std::string& name, const std::string& index, const std::string& on) {
  Migration migration;
  migration.name = name;
  migration.transactional = false;
  migration.index = index;
  migration.text = "-- migrate:up transaction:false\nSELECT pg_sleep(0.05);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS " +
                   index + " ON " + on + ";\n\n-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY IF EXISTS " +
                   index + ";\n";
  return migration;
}

}  // namespace

std::string Server::conninfo(const std::string& db) const {
  // No TLS: the trials open many short connections, and what they test is not the transport.
  return "host=" + host + " port=" + std::to_string(port) + " user=postgres password=" + password +
         " sslmode=disable dbname=" + db;
}

Server test_cluster() {
  return {required_env("PGHOST"), std::stoi(required_env("PGPORT")), required_env("PGPASSWORD")};
}

const std::vector<Migration>& migration_set() {
  static const std::vector<Migration> set = {
      transactional("20250301000001_create_accounts.sql",
                    "CREATE TABLE chaos_effects (migration text NOT NULL);\n"
                    "CREATE TABLE accounts (id bigserial PRIMARY KEY, email text NOT NULL);",
                    [](auto& tx) { return relation_exists(tx, "accounts") && relation_exists(tx, "chaos_effects"); }),
      transactional("20250301000002_create_events.sql",
                    "CREATE TABLE events (id bigserial PRIMARY KEY, account_id bigint NOT NULL, kind text NOT NULL);",
                    [](auto& tx) { return relation_exists(tx, "events"); }),
      transactional("20250301000003_add_account_name.sql", "ALTER TABLE accounts ADD COLUMN name text;",
                    [](auto& tx) {
                      return tx.exec(
                                   "SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass('public.accounts') "
                                   "AND attname = 'name' AND NOT attisdropped")[0][0]
                                 .template as<int>() == 1;
                    }),
      // Data, not only DDL: half a seed would show as a count other than 2000.
      transactional("20250301000004_seed_accounts.sql",
                    "INSERT INTO accounts (email, name) SELECT 'user' || i || '@example.com', 'user ' || i\n"
                    "  FROM generate_series(1, 2000) AS i;\n"
                    "INSERT INTO events (account_id, kind) SELECT id, 'created' FROM accounts;",
                    [](auto& tx) {
                      return relation_exists(tx, "accounts") &&
                             tx.exec("SELECT count(*) FROM accounts")[0][0].template as<int>() == 2000;
                    }),
      transactional(
          "20250301000005_create_account_count.sql",
          "CREATE FUNCTION account_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM accounts $$;",
          [](auto& tx) { return !tx.exec("SELECT to_regprocedure('public.account_count()')")[0][0].is_null(); }),
      concurrent_index("20250301000006_index_accounts_email.sql", "idx_accounts_email", "accounts (email)"),
      transactional("20250301000007_create_tags.sql",
                    "CREATE TABLE tags (account_id bigint NOT NULL, tag text NOT NULL);\n"
                    "INSERT INTO tags SELECT id, 'new' FROM accounts;",
                    [](auto& tx) { return relation_exists(tx, "tags"); }),
      concurrent_index("20250301000008_index_events_account.sql", "idx_events_account", "events (account_id)"),
  };
  return set;
}

void write_migrations(const std::filesystem::path& dir, std::size_t count) {
  std::filesystem::create_directories(dir);
  for (std::size_t i = 0; i < count; ++i) std::ofstream(dir / migration_set()[i].name) << migration_set()[i].text;
}

bool Inspection::complete() const {
  return inconsistencies.empty() && invalid_indexes.empty() && duplicates == 0 && applied_unrecorded == 0 &&
         recorded == migration_set().size() && lock_value == 0;
}

Inspection inspect(const Server& server, const std::string& db) {
  Inspection found;
  pqxx::connection connection(server.conninfo(db));
  // One snapshot for the ledger and the catalog.
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(connection);

  std::vector<std::string> ledger;
  if (relation_exists(tx, "knex_migrations"))
    for (const auto& row : tx.exec("SELECT name FROM knex_migrations ORDER BY id"))
      ledger.push_back(row[0].as<std::string>(""));
  found.recorded = ledger.size();
  std::map<std::string, int> effects;
  if (relation_exists(tx, "chaos_effects"))
    for (const auto& row : tx.exec("SELECT migration, count(*) FROM chaos_effects GROUP BY migration"))
      effects[row[0].as<std::string>()] = row[1].as<int>();
  if (relation_exists(tx, "knex_migrations_lock")) {
    const auto rows = tx.exec("SELECT is_locked FROM knex_migrations_lock");
    if (rows.size() != 1)
      found.inconsistencies.push_back("knex_migrations_lock has " + std::to_string(rows.size()) + " rows, not 1");
    if (!rows.empty()) found.lock_value = rows[0][0].as<int>(0);
  }

  const auto& set = migration_set();
  // A runner applies in file order and stops at its first failure, so the ledger is always the
  // set's first migrations, in order, once each.
  bool prefix = ledger.size() <= set.size();
  for (std::size_t i = 0; prefix && i < ledger.size(); ++i) prefix = ledger[i] == set[i].name;
  if (!prefix) {
    std::string names;
    for (const auto& name : ledger) names += " " + name;
    found.inconsistencies.push_back("the ledger is not the set's first migrations in order:" + names);
  }

  for (const auto& migration : set) {
    const auto times = std::count(ledger.begin(), ledger.end(), migration.name);
    found.duplicates += static_cast<int>(std::max<std::ptrdiff_t>(0, times - 1));
    const bool recorded = times > 0;
    if (migration.transactional) {
      const bool applied = migration.applied(tx);
      const int ran = effects.count(migration.name) ? effects[migration.name] : 0;
      found.duplicates += std::max(0, ran - 1);
      if (recorded && !applied) found.inconsistencies.push_back(migration.name + ": recorded but not applied");
      if (!recorded && applied) found.inconsistencies.push_back(migration.name + ": applied but not recorded");
      if (applied != (ran > 0))
        found.inconsistencies.push_back(migration.name + ": catalog " + (applied ? "applied" : "not applied") +
                                        " but its effect row counted " + std::to_string(ran) + " executions");
      continue;
    }
    const auto index = tx.exec("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(" +
                               tx.quote("public." + migration.index) + ")");
    const bool valid = !index.empty() && index[0][0].as<bool>();
    if (recorded && !valid)
      found.inconsistencies.push_back(migration.name + ": recorded but its index is " +
                                      (index.empty() ? "missing" : "invalid"));
    if (!recorded && valid) ++found.applied_unrecorded;
    if (!recorded && !index.empty() && !valid)
      found.invalid_indexes.push_back("\"public\".\"" + migration.index + "\"");
  }
  return found;
}

void reset_tenant(const Server& server, const std::string& db, const std::string& role) {
  pqxx::connection connection(server.conninfo(db));
  pqxx::nontransaction tx(connection);
  // PostgreSQL 15's public schema belongs to pg_database_owner, so it stays.
  tx.exec("DROP OWNED BY " + tx.quote_name(role));
}

void drop_invalid_indexes(const Server& server, const std::string& db, const Inspection& inspection) {
  pqxx::connection connection(server.conninfo(db));
  pqxx::nontransaction tx(connection);
  for (const auto& index : inspection.invalid_indexes) tx.exec("DROP INDEX CONCURRENTLY IF EXISTS " + index);
}

std::vector<Failure> failures_in(const std::string& json_output) {
  std::vector<Failure> failures;
  std::map<std::string, std::vector<std::string>> retries;
  std::istringstream lines(json_output);
  for (std::string line; std::getline(lines, line);) {
    const auto event = nlohmann::json::parse(line, nullptr, false);
    if (event.is_discarded()) continue;
    if (event.value("event", "") == "retry") retries[event.value("tenant", "")].push_back(event.value("reason", ""));
    if (event.value("event", "") != "tenant_failed") continue;
    Failure failure{event.value("tenant", ""), event.value("reason", ""), Failure::Kind::unexpected,
                    retries[event.value("tenant", "")]};
    if (failure.reason.find("invalid index") != std::string::npos &&
        failure.reason.find("DROP INDEX CONCURRENTLY IF EXISTS") != std::string::npos)
      failure.kind = Failure::Kind::invalid_index;
    else if (failure.reason.find("the connection broke while committing") != std::string::npos)
      failure.kind = Failure::Kind::in_doubt;
    failures.push_back(std::move(failure));
  }
  return failures;
}

Watch::Watch(Server server, const std::vector<std::string>& dbs) : server_(std::move(server)) {
  for (const auto& db : dbs)
    in_list_ += (in_list_.empty() ? "'" : ", '") + db + "'";  // our own names, no quotes in them
  in_list_ = "(" + in_list_ + ")";
}

pqxx::result Watch::query(const std::string& sql) {
  for (int attempt = 1;; ++attempt) {
    try {
      if (!connection_) connection_ = std::make_unique<pqxx::connection>(server_.conninfo("postgres"));
      return pqxx::nontransaction(*connection_).exec(sql);
    } catch (const pqxx::broken_connection&) {
      connection_.reset();  // the server restarted under us
      if (attempt == 2) throw;
    }
  }
}

std::vector<int> Watch::migrate_backends() {
  std::vector<int> pids;
  for (const auto& [pid, db] : migrate_sessions()) pids.push_back(pid);
  return pids;
}

std::vector<std::pair<int, std::string>> Watch::migrate_sessions() {
  std::vector<std::pair<int, std::string>> sessions;
  for (const auto& row : query("SELECT pid, datname FROM pg_stat_activity WHERE application_name = 'migrate' AND "
                               "datname IN " +
                               in_list_ + " ORDER BY pid"))
    sessions.emplace_back(row[0].as<int>(), row[1].as<std::string>());
  return sessions;
}

int Watch::advisory_locks() {
  return query(
             "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' "
             "AND d.datname IN " +
             in_list_)[0][0]
      .as<int>();
}

bool Watch::migrate_running(const std::string& text) {
  std::string literal;
  for (const char c : text) literal += c == '\'' ? std::string("''") : std::string(1, c);
  return query(
             "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'migrate' AND state = 'active' AND "
             "strpos(query, '" +
             literal + "') > 0 AND datname IN " + in_list_)[0][0]
             .as<int>() > 0;
}

bool Watch::terminate(int pid) {
  return query("SELECT pg_terminate_backend(" + std::to_string(pid) + ")")[0][0].as<bool>(false);
}

bool poll_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ready()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace chaos
