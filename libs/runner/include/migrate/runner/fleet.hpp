#pragma once
// Running one job over many tenants: streamed from the registry, a bounded number in flight,
// capped per database server, one tenant's failure never stopping the others.
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "migrate/registry/tenant_record.hpp"
#include "migrate/runner/claims.hpp"
#include "migrate/runner/outcome.hpp"
#include "migrate/runner/reporter.hpp"
#include "migrate/runner/shard.hpp"

namespace migrate::runner {

struct FleetOptions {
  int concurrency = 8;  // tenants in flight at once
  int per_host = 0;     // at most this many on one host:port; 0 = no cap
  bool fail_fast = false;
  std::set<std::string> only;     // slugs; empty = every tenant
  std::set<std::string> exclude;  // slugs
  std::optional<Shard> shard;
  // The central database, when replicas are to split the fleet through claims (see claims.hpp).
  std::optional<std::string> claims_conninfo;
  pg::ConnectOptions claims_connect;
};

// The next page of tenants after `after_slug` (in slug order); empty at the end.
using TenantPages = std::function<std::vector<registry::TenantRecord>(const std::string& after_slug)>;
using TenantJob = std::function<TenantOutcome(const registry::TenantRecord&)>;

// Runs `job` on every tenant `pages` yields that the options select. With claims, a tenant
// another replica holds is passed over (state skipped). Returns the summary it also reports.
FleetSummary run_fleet(const TenantPages& pages, const FleetOptions& options, Reporter& reporter, const TenantJob& job);

}  // namespace migrate::runner
