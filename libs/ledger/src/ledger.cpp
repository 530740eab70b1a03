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
      quoted_lock_table_(pg::quote_identifier(table_name_ + "_lock")) {}

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
  try {
    pqxx::nontransaction tx(db);
    // Ledger rows have a name and no lock value; the one lock row has a value and no name.
    const auto rows = tx.exec("SELECT name, NULL::integer FROM " + quoted_table_ +
                              " UNION ALL SELECT NULL, max(is_locked) FROM " + quoted_lock_table_);
    Glance glance;
    glance.names.reserve(rows.size());
    for (const auto& row : rows) {
      if (!row[1].is_null())
        glance.lock_value = row[1].as<int>();
      else if (!row[0].is_null())
        glance.names.push_back(row[0].as<std::string>());
    }
    return glance;
  } catch (const pqxx::sql_error& error) {
    if (error.sqlstate() == sqlstate_undefined_table) return std::nullopt;
    throw;
  }
}

std::vector<AppliedMigration> Ledger::applied(pqxx::transaction_base& tx) const {
  return to_applied(tx.exec("SELECT id, name, batch, migration_time FROM " + quoted_table_ + " ORDER BY id"));
}

void Ledger::create_tables(pqxx::transaction_base& tx) const {
  tx.exec("CREATE TABLE IF NOT EXISTS " + quoted_table_ +
          " (id serial PRIMARY KEY, name varchar(255), batch integer, migration_time timestamptz);"
          "CREATE TABLE IF NOT EXISTS " +
          quoted_lock_table_ + " (index serial PRIMARY KEY, is_locked integer)");
}

void Ledger::record(pqxx::transaction_base& tx, const std::string& name, int batch) const {
  tx.exec_params("INSERT INTO " + quoted_table_ + " (name, batch, migration_time) VALUES ($1, $2, clock_timestamp())",
                 name, batch);
}

void Ledger::erase(pqxx::transaction_base& tx, int id) const {
  tx.exec_params("DELETE FROM " + quoted_table_ + " WHERE id = $1", id);
}

}  // namespace migrate::ledger
