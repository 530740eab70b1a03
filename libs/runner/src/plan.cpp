#include "migrate/runner/plan.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "migrate/core/error.hpp"
#include "migrate/core/text.hpp"

namespace migrate::runner {
namespace {

// Two ledger rows that stand for one file (knex's X.js and our X.sql): the migration would run, or
// be rolled back, twice. Returns the first such pair as a reason, or "".
std::string rows_for_one_file(const migrations::MigrationSet& set,
                              const std::vector<ledger::AppliedMigration>& applied) {
  std::map<std::string, std::string> seen;  // file name -> the first row's name
  for (const auto& row : applied) {
    const auto* file = set.find(row.name);
    if (!file) continue;
    const auto [it, first] = seen.emplace(file->name, row.name);
    if (!first)
      return "ledger rows " + std::min(it->second, row.name) + " and " + std::max(it->second, row.name) +
             " both stand for " + file->name + ": delete the row that should not be there from the ledger table";
  }
  return "";
}

}  // namespace

UpPlan plan_up(const migrations::MigrationSet& set, const std::vector<ledger::AppliedMigration>& applied,
               std::optional<int> continue_batch) {
  UpPlan plan;
  std::set<std::string> done;
  std::string newest;
  std::vector<std::string> vanished;
  for (const auto& row : applied) {
    // A row knex recorded as X.js stands for X.sql.
    const auto* file = set.find(row.name);
    const auto& name = file ? file->name : row.name;
    done.insert(name);
    newest = std::max(newest, name);
    plan.next_batch = std::max(plan.next_batch, row.batch + 1);
    if (!file) vanished.push_back(row.name);
  }
  if (continue_batch && plan.next_batch == *continue_batch + 1) plan.next_batch = *continue_batch;
  if (!vanished.empty()) {
    const bool from_knex = std::any_of(vanished.begin(), vanished.end(),
                                       [&](const std::string& name) { return set.is_legacy_name(name); });
    // The first few names: a fleet adopted from elsewhere may miss hundreds, on every tenant.
    throw RunError("applied migration(s) missing from " + set.directory().string() + ": " + shortened_list(vanished) +
                   (from_knex ? " (knex's X.js rows need X.sql files: convert them, see Switching from knex scripts)"
                              : " (restore the file, or roll the tenant back with the version that has it)"));
  }
  if (const auto reason = rows_for_one_file(set, applied); !reason.empty()) throw RunError(reason);
  for (const auto& file : set.files()) {
    if (done.count(file.name)) continue;
    plan.pending.push_back(&file);
    if (file.name < newest) plan.out_of_order.push_back(file.name);
  }
  return plan;
}

std::vector<ledger::AppliedMigration> plan_rollback(const migrations::MigrationSet& set,
                                                    const std::vector<ledger::AppliedMigration>& applied, bool all) {
  std::vector<ledger::AppliedMigration> chosen;
  int last_batch = 0;
  for (const auto& row : applied) last_batch = std::max(last_batch, row.batch);
  for (auto it = applied.rbegin(); it != applied.rend(); ++it)
    if (all || it->batch == last_batch) chosen.push_back(*it);
  if (const auto reason = rows_for_one_file(set, applied); !reason.empty())
    throw InputError("cannot roll back: " + reason + "; nothing was rolled back");
  std::stable_sort(chosen.begin(), chosen.end(), [](const auto& a, const auto& b) { return a.id > b.id; });
  for (const auto& row : chosen) {
    const auto* file = set.find(row.name);
    if (!file)
      throw InputError("cannot roll back " + row.name + ": its file is not in " + set.directory().string() +
                       "; nothing was rolled back");
    if (!file->down)
      throw InputError("cannot roll back " + row.name + ": " + file->path.string() +
                       " has no down section; nothing was rolled back");
  }
  return chosen;
}

}  // namespace migrate::runner
