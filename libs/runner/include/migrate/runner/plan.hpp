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

// Which applied migrations a rollback undoes.
struct RollbackSelection {
  enum class Kind {
    last_batch,   // the newest batch (knex's migrate:rollback)
    every_batch,  // everything (--all)
    newer_than,   // every applied migration whose file name sorts after `name` (--to)
    newest,       // the newest `steps` applied (--steps)
    one,          // the migration `name` only (down NAME)
  };
  Kind kind = Kind::last_batch;
  std::string name;  // a file name of the folder, for newer_than and one
  int steps = 0;
  // The ledger rows (ids, in the order planned) the operator confirmed: when the ledger now
  // gives others, the tenant is not rolled back (RunError).
  std::optional<std::vector<int>> confirmed_ids;
  static RollbackSelection last() { return {}; }
  static RollbackSelection every() { return {Kind::every_batch, {}, 0, {}}; }
  static RollbackSelection to(std::string name) { return {Kind::newer_than, std::move(name), 0, {}}; }
  static RollbackSelection newest_n(int steps) { return {Kind::newest, {}, steps, {}}; }
  static RollbackSelection only(std::string name) { return {Kind::one, std::move(name), 0, {}}; }
};

// The ledger rows to roll back, newest (last applied) first, as `selection` says. Throws
// InputError, before anything changes, when one has no down section or no file, and RunError
// when they are not the rows `selection.confirmed_ids` names.
std::vector<ledger::AppliedMigration> plan_rollback(const migrations::MigrationSet& set,
                                                    const std::vector<ledger::AppliedMigration>& applied,
                                                    const RollbackSelection& selection);

// The one of `names` that `part` designates: the name itself, the name without ".sql", its
// timestamp, or a part of it found in no other name. Throws InputError listing the names it
// matches when several do, and `listed_when_none` (what the operator could have meant, e.g. the
// pending migrations) described as `what` when none does.
std::string resolve_migration_name(const std::vector<std::string>& names, const std::string& part,
                                   const std::vector<std::string>& listed_when_none, const std::string& what);

}  // namespace migrate::runner
