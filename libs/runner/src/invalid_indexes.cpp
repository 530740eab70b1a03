#include "migrate/runner/invalid_indexes.hpp"

#include <pqxx/pqxx>

#include <algorithm>

#include "migrate/pg/quote.hpp"

namespace migrate::runner {
namespace {

char fold(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string qualified(const IndexName& index) {
  return pg::quote_identifier(index.schema) + "." + pg::quote_identifier(index.name);
}

}  // namespace

bool mentions_name(std::string_view sql, std::string_view name) {
  if (name.empty()) return false;
  const auto same = [](char a, char b) { return fold(a) == fold(b); };
  return std::search(sql.begin(), sql.end(), name.begin(), name.end(), same) != sql.end();
}

std::vector<IndexName> invalid_indexes(pqxx::connection_base& db) {
  pqxx::nontransaction tx(db);
  // Plain indexes only: a partitioned index is also "invalid" until each partition's is attached.
  const auto rows = tx.exec(
      "SELECT n.nspname, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
      "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND c.relkind = 'i' ORDER BY 1, 2");
  std::vector<IndexName> found;
  for (const auto& row : rows) found.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
  return found;
}

std::vector<IndexName> invalid_indexes_in(pqxx::connection_base& db, std::string_view sql) {
  std::vector<IndexName> found;
  for (auto& index : invalid_indexes(db))
    if (mentions_name(sql, index.name)) found.push_back(std::move(index));
  return found;
}

std::string invalid_index_advice(const std::vector<IndexName>& indexes) {
  std::string names;
  std::string drops;
  for (const auto& index : indexes) {
    names += (names.empty() ? "" : ", ") + qualified(index);
    drops += "DROP INDEX CONCURRENTLY IF EXISTS " + qualified(index) + "; ";
  }
  return std::string(indexes.size() == 1 ? "invalid index " : "invalid indexes ") + names +
         " (a failed CREATE INDEX CONCURRENTLY leaves one, and IF NOT EXISTS then skips it): run " + drops +
         "then run again";
}

}  // namespace migrate::runner
