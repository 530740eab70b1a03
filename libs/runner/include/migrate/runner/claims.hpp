#pragma once
// Several replicas of `migrate all-tenants` over one central database split the fleet between
// them: a replica claims a tenant with a session advisory lock in the central database before it
// works on it, and passes over a tenant another replica holds. A replica that dies drops its
// claims with its connection. No extra service, no table.
//
// A claim is keyed by what is being applied (environment, ledger table, a digest of the migration
// files) as well as the tenant: a deploy with other migrations never mistakes another deploy's
// claim for its own work being done.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "migrate/migrations/migration_set.hpp"
#include "migrate/pg/connection.hpp"

namespace migrate::runner {

// The scope of claims for a run applying `set` to the ledger `table` in `environment`.
std::string claim_scope(const std::string& environment, const std::string& table, const migrations::MigrationSet& set);

// One fleet worker's claims, over a central connection of its own so that workers never wait for
// each other. A worker keeps its last claim until it claims the next tenant: both happen in one
// round trip, and a finished tenant is not checked again by another replica meanwhile.
class ClaimSession {
 public:
  ClaimSession(pg::Target central, pg::ConnectOptions options, std::string scope);

  // True when this worker now holds tenant `id`; false when another replica does. Throws when the
  // central database cannot be reached.
  bool claim(const std::string& id);

  // Waits until no replica holds tenant `id` (taking and at once releasing its claim). A stop
  // request cancels the wait. Throws when the central database cannot be reached.
  void wait_for(const std::string& id);

 private:
  std::int64_t key_of(const std::string& id) const;

  pg::Target central_target_;
  pg::ConnectOptions options_;
  std::string scope_;
  std::unique_ptr<pg::Connection> central_;  // opened on first use
  std::optional<std::int64_t> held_;
};

}  // namespace migrate::runner
