#include "chaos/next_run.hpp"

#include <algorithm>

namespace chaos {

void add_inconsistencies(std::vector<std::string>& problems, const std::string& slug, const Inspection& inspection) {
  for (const auto& text : inspection.inconsistencies) problems.push_back(slug + ": " + text);
}

std::vector<std::string> finish_fleet(const support::TestFleet& fleet, const Server& server,
                                      const std::vector<std::string>& args, Tally& tally) {
  std::vector<std::string> problems;
  bool failed = false;
  std::vector<std::string> json_args = {"--log-format", "json"};
  json_args.insert(json_args.end(), args.begin(), args.end());
  for (int attempt = 1; attempt <= 2; ++attempt) {
    const auto result = fleet.migrate(json_args);
    if (result.exit_code == 0) break;
    const auto failures = failures_in(result.out);
    const bool documented = !failures.empty() && std::all_of(failures.begin(), failures.end(), [](const auto& f) {
      return f.kind == Failure::Kind::invalid_index;
    });
    if (!documented || attempt == 2) {
      for (const auto& failure : failures)
        problems.push_back("next run: " + failure.tenant + ": FAILED: " + failure.reason);
      if (failures.empty())
        problems.push_back("next run exited " + std::to_string(result.exit_code) + ": " + result.all());
      tally.spurious_failures += std::max<int>(1, static_cast<int>(failures.size()));
      failed = true;
      break;
    }
    for (const auto& failure : failures)
      for (const auto& tenant : fleet.tenants())
        if (tenant.slug == failure.tenant) {
          const auto found = inspect(server, tenant.db);
          tally.invalid_indexes += static_cast<int>(found.invalid_indexes.size());
          drop_invalid_indexes(server, tenant.db, found);
        }
  }
  for (const auto& tenant : fleet.tenants()) {
    const auto found = inspect(server, tenant.db);
    if (found.complete()) continue;
    // A tenant the run failed is counted once, as that failure, unless its catalog disagrees with its ledger.
    if (!failed || !found.inconsistencies.empty()) ++tally.inconsistencies;
    add_inconsistencies(problems, tenant.slug, found);
    problems.push_back(tenant.slug + ": not complete after the next run: " + std::to_string(found.recorded) + " of " +
                       std::to_string(migration_set().size()) + " recorded, lock row " +
                       (found.lock_value ? std::to_string(*found.lock_value) : std::string("missing")) + ", " +
                       std::to_string(found.invalid_indexes.size()) + " invalid indexes, " +
                       std::to_string(found.duplicates) + " duplicates");
  }
  return problems;
}

}  // namespace chaos
