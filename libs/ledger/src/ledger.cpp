#include "migrate/ledger/ledger.hpp"

#include <pqxx/pqxx>

#include "migrate/pg/quote.hpp"

namespace migrate::ledger {
namespace {

constexpr const char* sqlstate_undefined_table = "42P01";

std::vector<AppliedMigration> to_applied(const pqxx::result& rows) {
  std::vector<AppliedMigration> applied;
  applied.reserve(rows.size());
  for (const auto& row : rows)
    applied.push_back({row[0].as<int>(), row[1].as<std::string>(""), row[2].as<int>(0), row[3].as<std::string>("")});
  return applied;
}

}  // namespace

Ledger::Ledger(std::string table_name)
    : table_name_(std::move(table_name)),
      quoted_table_(pg::quote_identifier(table_name_)),
      quoted_lock_table_(pg::quote_identifier(table_name_ + "_lock")),
      quoted_checksum_table_(pg::quote_identifier(table_name_ + "_checksums")) {}

std::optional<std::vector<AppliedMigration>> Ledger::applied(pqxx::connection_base& db) const {
  try {
    pqxx::nontransaction tx(db);
    return to_applied(tx.exec("SELECT id, name, batch, migration_time FROM " + quoted_table_ + " ORDER BY id"));
  } catch (const pqxx::sql_error& error) {
    if (error.sqlstate() == sqlstate_undefined_table) return std::nullopt;
    throw;
  }
}

std::optional<Glance> Ledger::glance(pqxx::connection_base& db) const {
  // Ledger rows have a name and no lock value; the one lock row has a value and no name; checksum
  // rows have a name and a checksum.
  const std::string names_and_lock = "SELECT name, NULL::integer, NULL::text FROM " + quoted_table_ +
                                     " UNION ALL SELECT NULL, max(is_locked), NULL FROM " + quoted_lock_table_;
  const auto read = [&](const std::string& sql) {
    pqxx::nontransaction tx(db);
    const auto rows = tx.exec(sql);
    Glance glance;
    glance.names.reserve(rows.size());
    for (const auto& row : rows) {
      if (!row[1].is_null())
        glance.lock_value = row[1].as<int>();
      else if (!row[2].is_null())
        glance.checksums[row[0].as<std::string>()] = row[2].as<std::string>();
      else if (!row[0].is_null())
        glance.names.push_back(row[0].as<std::string>());
    }
    return glance;
  };
  try {
    return read(names_and_lock + " UNION ALL SELECT name, NULL, checksum FROM " + quoted_checksum_table_);
  } catch (const pqxx::sql_error& error) {
    if (error.sqlstate() != sqlstate_undefined_table) throw;
  }
  // A ledger knex made, or one from before checksums: the run that finds it records them.
  try {
    auto glance = read(names_and_lock);
    glance.has_checksum_table = false;
    return glance;
  } catch (const pqxx::sql_error& error) {
    if (error.sqlstate() == sqlstate_undefined_table) return std::nullopt;
    throw;
  }
}

std::optional<Checksums> Ledger::checksums(pqxx::connection_base& db) const {
  try {
    pqxx::nontransaction tx(db);
    return checksums(tx);
  } catch (const pqxx::sql_error& error) {
    if (error.sqlstate() == sqlstate_undefined_table) return std::nullopt;
    throw;
  }
}

Checksums Ledger::checksums(pqxx::transaction_base& tx) const {
  Checksums checksums;
  for (const auto& row : tx.exec("SELECT name, checksum FROM " + quoted_checksum_table_))
    checksums[row[0].as<std::string>()] = row[1].as<std::string>("");
  return checksums;
}

std::vector<AppliedMigration> Ledger::applied(pqxx::transaction_base& tx) const {
  return to_applied(tx.exec("SELECT id, name, batch, migration_time FROM " + quoted_table_ + " ORDER BY id"));
}

void Ledger::create_tables(pqxx::transaction_base& tx) const {
  tx.exec("CREATE TABLE IF NOT EXISTS " + quoted_table_ +
          " (id serial PRIMARY KEY, name varchar(255), batch integer, migration_time timestamptz);"
          "CREATE TABLE IF NOT EXISTS " +
          quoted_lock_table_ +
          " (index serial PRIMARY KEY, is_locked integer);"
          "CREATE TABLE IF NOT EXISTS " +
          quoted_checksum_table_ +
          " (name varchar(255) PRIMARY KEY, checksum text NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())");
}

void Ledger::record(pqxx::transaction_base& tx, const std::string& name, int batch, const std::string& checksum) const {
  tx.exec_params("INSERT INTO " + quoted_table_ + " (name, batch, migration_time) VALUES ($1, $2, clock_timestamp())",
                 name, batch);
  if (!checksum.empty()) record_checksum(tx, name, checksum);
}

void Ledger::record_checksum(pqxx::transaction_base& tx, const std::string& name, const std::string& checksum) const {
  tx.exec_params("INSERT INTO " + quoted_checksum_table_ +
                     " (name, checksum) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET checksum = "
                     "EXCLUDED.checksum, recorded_at = now()",
                 name, checksum);
}

void Ledger::erase(pqxx::transaction_base& tx, int id) const {
  // knex records X.js for the file X.sql, whose checksum is kept under X.sql. The CTE's other
  // parts see the ledger as it was before the DELETE, hence the id <> $1.
  tx.exec_params("WITH gone AS (DELETE FROM " + quoted_table_ +
                     " WHERE id = $1 RETURNING name), file AS (SELECT regexp_replace(name, '\\.[^.]*$', '') || "
                     "'.sql' AS name FROM gone) "
                     "DELETE FROM " +
                     quoted_checksum_table_ +
                     " c USING file WHERE c.name = file.name AND NOT EXISTS "
                     "(SELECT FROM " +
                     quoted_table_ +
                     " l WHERE l.id <> $1 AND regexp_replace(l.name, '\\.[^.]*$', '') "
                     "|| '.sql' = file.name)",
                 id);
}

void Ledger::erase_checksum(pqxx::transaction_base& tx, const std::string& name) const {
  tx.exec_params("DELETE FROM " + quoted_checksum_table_ + " WHERE name = $1", name);
}

}  // namespace migrate::ledger
