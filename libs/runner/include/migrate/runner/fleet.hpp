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
  std::optional<pg::Target> claims_target;
  pg::ConnectOptions claims_connect;
  std::string claims_scope;
};

// The next page of tenants after `after`; empty at the end. Throws migrate::Error when the list
// cannot be read (after its own retries).
using TenantPages = std::function<std::vector<registry::TenantRecord>(const registry::PageCursor& after)>;
using TenantJob = std::function<TenantOutcome(const registry::TenantRecord&)>;

// Whether `tenant` is one `options` select (--only, --exclude, --shard).
bool selected(const registry::TenantRecord& tenant, const FleetOptions& options);

// Runs `job` on every tenant `pages` yields that the options select; `known_total` is how many
// that is expected to be. With claims, a tenant another replica holds is passed over and, once
// every other tenant is done, checked again through its own lock (state skipped when it was
// current by then), so a run never reports success while a tenant it was given is behind.
// After --fail-fast's first failure or a stop request no tenant is started; those left are
// counted as not started. When the list cannot be read to the end after work began, the run
// finishes what it holds and the summary says so (listing_error); before any work, the error is
// thrown. Returns the summary it also reports.
FleetSummary run_fleet(const TenantPages& pages, int known_total, const FleetOptions& options, Reporter& reporter,
                       const TenantJob& job);

}  // namespace migrate::runner
