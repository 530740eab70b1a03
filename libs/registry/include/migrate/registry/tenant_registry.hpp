#pragma once
// The central table of tenant records (default "tenants"), read with parameterised queries.
// Rows are read as text and checked here, so that one malformed row fails its tenant alone.
#include <optional>
#include <string>
#include <vector>

#include "migrate/pg/connection.hpp"
#include "migrate/registry/tenant_record.hpp"

namespace migrate::registry {

class TenantRegistry {
 public:
  // `table` may be schema-qualified; it is quoted, never spliced raw.
  TenantRegistry(pg::Connection& central, std::string table);

  // The tenant whose slug or id is `slug_or_id`, whatever its status.
  std::optional<TenantRecord> find(const std::string& slug_or_id);

  // The tenant whose slug is exactly `slug` (never one whose id it is), whatever its status.
  std::optional<TenantRecord> find_slug(const std::string& slug);

  // Whether some tenant's id is `id`.
  bool id_exists(const std::string& id);

  // Up to `limit` active tenants after `after`, in (slug, id) order, rows without a slug first:
  // pages of a stable listing, so a fleet of any size is streamed, not held.
  std::vector<TenantRecord> active_page(const PageCursor& after, int limit);

  // How many tenants are active.
  int count_active();

  // Errors are those of pg::rethrow_as_error (RunError, transient when a retry may help).

 private:
  pg::Connection& central_;
  std::string table_;  // quoted
};

}  // namespace migrate::registry
