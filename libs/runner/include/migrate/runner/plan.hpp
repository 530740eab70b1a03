#pragma once
// What a ledger and a migrations folder say is to be done, before anything is done.
#include <optional>
#include <string>
#include <vector>

#include "migrate/ledger/ledger.hpp"
#include "migrate/migrations/migration_set.hpp"

namespace migrate::runner {

struct UpPlan {
  std::vector<const migrations::MigrationFile*> pending;  // in name order
  std::vector<std::string> out_of_order;                  // pending but older than the newest applied
  int next_batch = 1;
};

// Throws RunError naming every applied migration whose file has vanished from the folder.
// `continue_batch`: the batch a retried run already committed into; the plan keeps using it while
// it is the newest batch in the ledger.
UpPlan plan_up(const migrations::MigrationSet& set, const std::vector<ledger::AppliedMigration>& applied,
               std::optional<int> continue_batch = std::nullopt);

// The ledger rows to roll back, newest first: the last batch, or every batch when `all`.
// Throws InputError, before anything changes, when one has no down section or no file.
std::vector<ledger::AppliedMigration> plan_rollback(const migrations::MigrationSet& set,
                                                    const std::vector<ledger::AppliedMigration>& applied, bool all);

}  // namespace migrate::runner
