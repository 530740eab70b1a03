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
                                                    const std::vector<ledger::AppliedMigration>& applied,
                                                    const RollbackSelection& selection) {
  using Kind = RollbackSelection::Kind;
  if (const auto reason = rows_for_one_file(set, applied); !reason.empty())
    throw InputError("cannot roll back: " + reason + "; nothing was rolled back");
  // Newest first: the reverse of the order applied.
  std::vector<ledger::AppliedMigration> newest_first(applied.rbegin(), applied.rend());
  std::stable_sort(newest_first.begin(), newest_first.end(), [](const auto& a, const auto& b) { return a.id > b.id; });
  int last_batch = 0;
  for (const auto& row : applied) last_batch = std::max(last_batch, row.batch);
  // A row knex recorded as X.js is compared as X.sql.
  const auto file_name = [&](const ledger::AppliedMigration& row) {
    const auto* file = set.find(row.name);
    return file ? file->name : row.name;
  };
  std::vector<ledger::AppliedMigration> chosen;
  for (const auto& row : newest_first) {
    const bool take = [&] {
      switch (selection.kind) {
        case Kind::last_batch: return row.batch == last_batch;
        case Kind::every_batch: return true;
        case Kind::newer_than: return file_name(row) > selection.name;
        case Kind::newest: return static_cast<int>(chosen.size()) < selection.steps;
        case Kind::one: return file_name(row) == selection.name;
      }
      return false;
    }();
    if (take) chosen.push_back(row);
  }
  for (const auto& row : chosen) {
    const auto* file = set.find(row.name);
    if (!file)
      throw InputError("cannot roll back " + row.name + ": its file is not in " + set.directory().string() +
                       "; nothing was rolled back");
    if (!file->down)
      throw InputError("cannot roll back " + row.name + ": " + file->path.string() +
                       " has no down section; nothing was rolled back");
  }
  if (selection.confirmed_ids) {
    std::vector<int> ids;
    std::vector<std::string> names;
    for (const auto& row : chosen) ids.push_back(row.id), names.push_back(row.name);
    if (ids != *selection.confirmed_ids)
      throw RunError("the ledger changed since the plan was confirmed (now to undo: " +
                     (names.empty() ? std::string("nothing") : shortened_list(names)) +
                     "); nothing was rolled back here: run the rollback again to see the new plan");
  }
  return chosen;
}

std::string resolve_migration_name(const std::vector<std::string>& names, const std::string& part,
                                   const std::vector<std::string>& listed_when_none, const std::string& what) {
  const bool timestamp =
      !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
  std::vector<std::string> matches;
  for (const auto& name : names) {
    if (name == part || name == part + ".sql") return name;
    const bool match = timestamp ? name.starts_with(part) : name.find(part) != std::string::npos;
    if (match && !part.empty()) matches.push_back(name);
  }
  if (matches.size() == 1) return matches.front();
  if (matches.size() > 1)
    throw InputError("'" + part + "' matches " + std::to_string(matches.size()) +
                     " migrations: " + shortened_list(matches, 10) + "; give more of the name");
  throw InputError("no migration matches '" + part + "'; " + what + ": " +
                   (listed_when_none.empty() ? std::string("none") : shortened_list(listed_when_none, 10)));
}

}  // namespace migrate::runner
