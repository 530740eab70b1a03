#include "migrate/runner/targeted.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include "migrate/core/error.hpp"
#include "migrate/core/interrupt.hpp"
#include "migrate/core/text.hpp"
#include "migrate/runner/tenant_job.hpp"
#include "preflight.hpp"
#include "report_steps.hpp"

namespace migrate::runner {
namespace {

std::vector<std::string> file_names(const migrations::MigrationSet& set) {
  std::vector<std::string> names;
  for (const auto& file : set.files()) names.push_back(file.name);
  return names;
}

// The files the ledger's rows stand for (a knex row X.js is X.sql), in the order applied.
std::vector<std::string> applied_file_names(const migrations::MigrationSet& set,
                                            const std::vector<ledger::AppliedMigration>& applied) {
  std::vector<std::string> names;
  for (const auto& row : applied)
    if (const auto* file = set.find(row.name)) names.push_back(file->name);
  return names;
}

std::string plural(std::size_t count, const std::string& noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

// `request` with its NAME resolved against what it may designate on this tenant. NAME may be the
// name knex recorded (X.js).
RollbackSelection resolve(const migrations::MigrationSet& set, const std::vector<ledger::AppliedMigration>& applied,
                          RollbackSelection request) {
  const auto applied_names = applied_file_names(set, applied);
  if (const auto* file = set.find(request.name)) request.name = file->name;
  using Kind = RollbackSelection::Kind;
  if (request.kind == Kind::newer_than)
    request.name = resolve_migration_name(file_names(set), request.name, applied_names, "applied");
  if (request.kind != Kind::one) return request;
  try {
    request.name = resolve_migration_name(applied_names, request.name, applied_names, "applied");
  } catch (const InputError&) {
    // A pending file named: say that it is not applied rather than that nothing matches.
    const auto all = file_names(set);
    const bool names_one_file =
        std::count_if(all.begin(), all.end(), [&](const std::string& name) {
          return name == request.name || name == request.name + ".sql" || name.find(request.name) != std::string::npos;
        }) == 1;
    if (!names_one_file) throw;
    throw InputError(resolve_migration_name(all, request.name, {}, "") +
                     " is not applied on this tenant: nothing to undo; applied: " +
                     (applied_names.empty() ? std::string("none") : shortened_list(applied_names, 10)));
  }
  return request;
}

// The migrations applied after `name` (the one `down NAME` undoes), which stay.
std::vector<std::string> applied_after(const migrations::MigrationSet& set,
                                       const std::vector<ledger::AppliedMigration>& applied, const std::string& name) {
  std::vector<std::string> later;
  bool seen = false;
  for (const auto& name_applied : applied_file_names(set, applied)) {
    if (seen) later.push_back(name_applied);
    seen = seen || name_applied == name;
  }
  return later;
}

}  // namespace

int up_tenant(const config::Settings& settings, const std::string& slug_or_id, const std::optional<std::string>& name,
              bool force, const EngineOptions& engine, Reporter& reporter) {
  Preflight preflight(settings);
  const auto tenant = preflight.one_tenant(slug_or_id);
  std::string already_applied;
  const auto outcome =
      run_tenant(tenant, {preflight.key, settings, reporter}, [&](pg::Connection& db, TenantOutcome& result) {
        const auto plan =
            plan_up(preflight.set, preflight.ledger.applied(db).value_or(std::vector<ledger::AppliedMigration>{}));
        std::vector<std::string> pending;
        for (const auto* file : plan.pending) pending.push_back(file->name);
        const migrations::MigrationFile* file = nullptr;
        if (name) {
          file = preflight.set.find(resolve_migration_name(file_names(preflight.set), *name, pending, "pending"));
        } else if (!plan.pending.empty()) {
          file = plan.pending.front();
        }
        result.state = TenantState::up_to_date;
        if (!file) return;
        ReportSteps listener(reporter, result);
        apply_one(db, preflight.set, preflight.ledger, engine, *file, force, &listener);
        if (result.steps.empty()) already_applied = file->name;
        result.state = result.steps.empty() ? TenantState::up_to_date : TenantState::migrated;
      });
  if (outcome.state == TenantState::up_to_date)
    reporter.line(outcome.slug + ": already up to date" +
                  (already_applied.empty() ? "" : " (" + already_applied + " is applied; --force runs it again)"));
  else
    reporter.tenant_finished(outcome);
  return exit_status_of(outcome);
}

int rollback_tenant(const config::Settings& settings, const std::string& slug_or_id, const RollbackRequest& request,
                    const EngineOptions& engine, Reporter& reporter) {
  Preflight preflight(settings);
  const auto tenant = preflight.one_tenant(slug_or_id);
  const auto outcome =
      run_tenant(tenant, {preflight.key, settings, reporter}, [&](pg::Connection& db, TenantOutcome& result) {
        const auto applied = preflight.ledger.applied(db).value_or(std::vector<ledger::AppliedMigration>{});
        const auto selection = resolve(preflight.set, applied, request);
        if (selection.kind == RollbackSelection::Kind::one) {
          if (const auto later = applied_after(preflight.set, applied, selection.name); !later.empty())
            reporter.warning(result.slug, selection.name + " is not the newest applied migration: " +
                                              shortened_list(later) + " applied after it stay, and may depend on it");
        }
        ReportSteps listener(reporter, result, /*rolling_back=*/true);
        roll_back(db, preflight.set, preflight.ledger, engine, selection, &listener);
        result.state = result.steps.empty() ? TenantState::up_to_date : TenantState::migrated;
      });
  if (outcome.state == TenantState::migrated)
    reporter.line(outcome.slug + ": rolled back " + std::to_string(outcome.steps.size()) + " migration(s)");
  else if (outcome.state == TenantState::up_to_date)
    reporter.line(outcome.slug + ": nothing to roll back");
  else
    reporter.tenant_finished(outcome);
  return exit_status_of(outcome);
}

int rollback_fleet(const config::Settings& settings, const FleetOptions& fleet, const std::string& to,
                   const EngineOptions& engine, Reporter& reporter, const Confirmation& confirm, bool plan_only) {
  Preflight preflight(settings);
  const auto names = file_names(preflight.set);
  const auto target = resolve_migration_name(names, to, names, "migrations in " + preflight.set.directory().string());
  const auto selection = RollbackSelection::to(target);
  const int total = preflight.selected_count(fleet);

  // The plan: every tenant's ledger read (read-only, concurrently) before anything changes.
  std::mutex mutex;
  std::map<std::string, int, std::greater<>> undo_count;     // migration -> tenants, newest first
  std::map<std::string, std::vector<std::string>> refusals;  // reason -> tenants
  std::vector<std::string> unreadable;
  int nothing_to_do = 0;
  // Only the tenants the plan showed are rolled back, and only by the rows it showed.
  std::vector<registry::TenantRecord> planned;
  std::map<std::string, std::vector<int>> confirmed_ids;  // tenant id -> ledger row ids
  std::map<std::string, int, std::greater<>> kept_late;   // kept although applied after one undone
  SilentReporter silent;
  FleetOptions read_only = fleet;
  read_only.fail_fast = false;
  run_fleet(preflight.pages(), total, read_only, silent, [&](const registry::TenantRecord& tenant) {
    std::vector<ledger::AppliedMigration> rows;
    std::vector<ledger::AppliedMigration> applied;
    std::string refusal;
    auto outcome = run_tenant(tenant, {preflight.key, settings, silent}, [&](pg::Connection& db, TenantOutcome&) {
      applied = preflight.ledger.applied(db).value_or(std::vector<ledger::AppliedMigration>{});
      try {
        rows = plan_rollback(preflight.set, applied, selection);
      } catch (const InputError& error) {
        refusal = error.what();
      }
    });
    std::lock_guard lock(mutex);
    if (outcome.state == TenantState::failed) {
      unreadable.push_back(tenant.label() + " (" + outcome.reason + ")");
    } else if (outcome.state != TenantState::up_to_date) {
      // interrupted: the stop request ends the command below
    } else if (!refusal.empty()) {
      refusals[refusal].push_back(tenant.label());
    } else if (rows.empty()) {
      ++nothing_to_do;
    } else {
      planned.push_back(tenant);
      auto& ids = confirmed_ids[tenant.id];
      for (const auto& row : rows) {
        ids.push_back(row.id);
        ++undo_count[preflight.set.find(row.name)->name];
      }
      // A migration applied in the batch of one being undone (or later) whose name sorts before
      // the target stays: the operator must know, it may belong to the deploy being undone.
      const int first_batch =
          std::min_element(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.batch < b.batch; })->batch;
      for (const auto& row : applied)
        if (row.batch >= first_batch && std::find(ids.begin(), ids.end(), row.id) == ids.end())
          ++kept_late[preflight.set.find(row.name) ? preflight.set.find(row.name)->name : row.name];
    }
    return outcome;
  });
  const int to_roll_back = static_cast<int>(planned.size());
  if (interrupt::requested()) interrupt::throw_if_requested();
  if (!refusals.empty()) {
    std::string reasons;
    for (auto& [reason, tenants] : refusals) {
      std::sort(tenants.begin(), tenants.end());
      reasons += "\n  " + reason + " (" + plural(tenants.size(), "tenant") + ": " + shortened_list(tenants) + ")";
    }
    throw InputError("the fleet cannot be rolled back to " + target + "; nothing was changed:" + reasons);
  }

  reporter.line("Rollback to " + target + ": " + plural(to_roll_back, "tenant") + " to roll back, " +
                std::to_string(nothing_to_do) + " already at or before it" +
                (unreadable.empty() ? "" : ", " + std::to_string(unreadable.size()) + " unreadable"));
  for (const auto& [migration, tenants] : undo_count)
    reporter.line("  undo " + migration + " on " + plural(tenants, "tenant"));
  for (const auto& [migration, tenants] : kept_late)
    reporter.line("  keep " + migration + " on " + plural(tenants, "tenant") +
                  ": applied with or after a migration being undone, but its name sorts before " + target +
                  " (undo it with `migrate down --tenant X " + migration + "` if it belongs to the deploy)");
  if (!unreadable.empty()) {
    std::sort(unreadable.begin(), unreadable.end());
    reporter.line("Unreadable, not planned: " + shortened_list(unreadable));
  }
  if (plan_only) {
    reporter.line("Dry run: nothing was changed.");
    return unreadable.empty() ? exit_ok : exit_failed;
  }
  if (to_roll_back == 0) {
    reporter.line("Nothing to roll back.");
    return unreadable.empty() ? exit_ok : exit_failed;
  }
  int undo_total = 0;
  for (const auto& [migration, tenants] : undo_count) undo_total += tenants;
  if (!confirm("Roll back " + plural(to_roll_back, "tenant") + " to " + target + " (" +
               plural(undo_total, "down section") + " in all)? [y/N]"))
    throw InputError("rollback not confirmed: nothing was changed");

  std::sort(planned.begin(), planned.end(),
            [](const auto& a, const auto& b) { return std::tie(a.slug, a.id) < std::tie(b.slug, b.id); });
  const TenantPages planned_pages = [&](const registry::PageCursor& after) {
    return after.slug.empty() && after.id.empty() ? planned : std::vector<registry::TenantRecord>{};
  };
  FleetOptions chosen = fleet;
  chosen.only.clear();  // the plan already applied --only, --exclude and --shard
  chosen.exclude.clear();
  chosen.shard.reset();
  reporter.run_started("rollback", to_roll_back);
  const TenantAccess access{preflight.key, settings, reporter};
  const auto summary =
      run_fleet(planned_pages, to_roll_back, chosen, reporter, [&](const registry::TenantRecord& tenant) {
        return run_tenant(tenant, access, [&](pg::Connection& db, TenantOutcome& result) {
          ReportSteps listener(reporter, result, /*rolling_back=*/true);
          auto confirmed = selection;
          confirmed.confirmed_ids = confirmed_ids.at(tenant.id);
          roll_back(db, preflight.set, preflight.ledger, engine, confirmed, &listener);
          result.state = result.steps.empty() ? TenantState::up_to_date : TenantState::migrated;
        });
      });
  return exit_status_of(summary);
}

namespace {

TenantWork dry_run_work(Preflight& preflight, const EngineOptions& engine, Reporter& reporter) {
  return [&preflight, engine, &reporter](pg::Connection& db, TenantOutcome& outcome) {
    outcome.steps.clear();  // a retried attempt starts again: nothing of the last one was kept
    ReportSteps listener(reporter, outcome);
    const auto result = dry_run_up(db, preflight.set, preflight.ledger, engine, &listener);
    outcome.not_checked = static_cast<int>(result.not_checked.size());
    if (!result.not_checked.empty())
      reporter.warning(outcome.slug,
                       "not checked, they cannot be tried inside a transaction (transaction:false, or a COMMIT of "
                       "their own): " +
                           shortened_list(result.not_checked));
    outcome.state =
        result.tried.empty() && result.not_checked.empty() ? TenantState::up_to_date : TenantState::migrated;
  };
}

}  // namespace

int dry_run_tenant(const config::Settings& settings, const std::string& slug_or_id, const EngineOptions& engine,
                   Reporter& reporter) {
  Preflight preflight(settings);
  const auto tenant = preflight.one_tenant(slug_or_id);
  reporter.run_started("dry-run", 1);
  const auto outcome =
      run_tenant(tenant, {preflight.key, settings, reporter}, dry_run_work(preflight, engine, reporter));
  reporter.tenant_finished(outcome);
  reporter.line("Dry run: rolled back, nothing was changed.");
  return exit_status_of(outcome);
}

int dry_run_fleet(const config::Settings& settings, const FleetOptions& fleet, const EngineOptions& engine,
                  Reporter& reporter) {
  Preflight preflight(settings);
  const int total = preflight.selected_count(fleet);
  reporter.run_started("dry-run", total);
  const TenantAccess access{preflight.key, settings, reporter};
  const auto work = dry_run_work(preflight, engine, reporter);
  const auto summary = run_fleet(preflight.pages(), total, fleet, reporter, [&](const registry::TenantRecord& tenant) {
    return run_tenant(tenant, access, work);
  });
  reporter.line("Dry run: rolled back, nothing was changed.");
  return exit_status_of(summary);
}

}  // namespace migrate::runner
