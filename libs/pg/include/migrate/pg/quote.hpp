#pragma once
// Identifiers go into SQL quoted; values always go as parameters.
#include <string>
#include <string_view>

namespace migrate::pg {

// `name` as a double-quoted SQL identifier: knex_migrations -> "knex_migrations".
std::string quote_identifier(std::string_view name);

// A table name that may carry a schema, "platform.tenants" -> "platform"."tenants".
std::string quote_qualified(std::string_view name);

}  // namespace migrate::pg
