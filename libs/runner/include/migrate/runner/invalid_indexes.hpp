#pragma once
// Invalid indexes: what a CREATE INDEX CONCURRENTLY that failed leaves behind (pg_index.indisvalid
// false). Queries do not use one, and IF NOT EXISTS skips its statement on the next run, so a
// transaction:false section would succeed over a broken index. The engine looks for them after
// each such section, and after one that failed.
#include <pqxx/connection_base>

#include <string>
#include <string_view>
#include <vector>

namespace migrate::runner {

struct IndexName {
  std::string schema;
  std::string name;
};

// True when `name` appears in `sql`, ASCII letters compared without case (as PostgreSQL folds
// unquoted names). A plain text search, no SQL parsing: a name inside a longer word or a comment
// counts too, so a broken index a section mentions is never missed.
bool mentions_name(std::string_view sql, std::string_view name);

// Every invalid index in `db` (not in a transaction), by schema and name.
std::vector<IndexName> invalid_indexes(pqxx::connection_base& db);

// The invalid indexes in `db` (not in a transaction) that `sql` mentions, by schema and name.
std::vector<IndexName> invalid_indexes_in(pqxx::connection_base& db, std::string_view sql);

// For a person, `indexes` (at least one) named "schema"."name" and the statements that drop them:
// `invalid index "public"."i" (...): run DROP INDEX CONCURRENTLY IF EXISTS "public"."i"; then run again`.
std::string invalid_index_advice(const std::vector<IndexName>& indexes);

}  // namespace migrate::runner
