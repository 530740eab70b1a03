#pragma once
// The run after a disruption: it must finish the fleet.
#include <string>
#include <vector>

#include "chaos/tally.hpp"
#include "chaos/trial_set.hpp"
#include "support/fleet.hpp"

namespace chaos {

// Runs `migrate all-tenants` with `args` (and --log-format json) over `fleet`, whose tenant
// databases are on `server`, and checks that every tenant then has the whole set, applied and
// recorded once, its lock row 0. An invalid index left by an interrupted CREATE INDEX
// CONCURRENTLY is the one documented reason the run may fail a tenant: the index is dropped as the
// runner's advice says and the run made once more. Returns what went wrong, a sentence each
// (empty: the fleet is complete), and counts it in `tally`.
std::vector<std::string> finish_fleet(const support::TestFleet& fleet, const Server& server,
                                      const std::vector<std::string>& args, Tally& tally);

// "slug: " and each of `inspection`'s inconsistencies, appended to `problems`.
void add_inconsistencies(std::vector<std::string>& problems, const std::string& slug, const Inspection& inspection);

}  // namespace chaos
