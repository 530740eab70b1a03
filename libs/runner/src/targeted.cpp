#include "migrate/runner/targeted.hpp"

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

// `request` with its NAME resolved against what it may designate on this tenant.
RollbackSelection resolve(const migrations::MigrationSet& set, const std::vector<ledger::AppliedMigration>& applied,
                          RollbackSelection request) {
  const auto applied_names = applied_file_names(set, applied);
  using Kind = RollbackSelection::Kind;
  if (request.kind == Kind::one)
    request.name = resolve_migration_name(applied_names, request.name, applied_names, "applied");
  else if (request.kind == Kind::newer_than)
    request.name = resolve_migration_name(file_names(set), request.name, applied_names, "applied");
  return request;
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
  int to_roll_back = 0, nothing_to_do = 0;
  SilentReporter silent;
  FleetOptions read_only = fleet;
  read_only.fail_fast = false;
  run_fleet(preflight.pages(), total, read_only, silent, [&](const registry::TenantRecord& tenant) {
    std::vector<ledger::AppliedMigration> rows;
    std::string refusal;
    auto outcome = run_tenant(tenant, {preflight.key, settings, silent}, [&](pg::Connection& db, TenantOutcome&) {
      const auto applied = preflight.ledger.applied(db).value_or(std::vector<ledger::AppliedMigration>{});
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
      ++to_roll_back;
      for (const auto& row : rows) ++undo_count[preflight.set.find(row.name)->name];
    }
    return outcome;
  });
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

  reporter.run_started("rollback", total);
  const TenantAccess access{preflight.key, settings, reporter};
  const auto summary = run_fleet(preflight.pages(), total, fleet, reporter, [&](const registry::TenantRecord& tenant) {
    return run_tenant(tenant, access, [&](pg::Connection& db, TenantOutcome& result) {
      ReportSteps listener(reporter, result, /*rolling_back=*/true);
      roll_back(db, preflight.set, preflight.ledger, engine, selection, &listener);
      result.state = result.steps.empty() ? TenantState::up_to_date : TenantState::migrated;
    });
  });
  return exit_status_of(summary);
}

namespace {

TenantWork dry_run_work(Preflight& preflight, Reporter& reporter) {
  return [&preflight, &reporter](pg::Connection& db, TenantOutcome& outcome) {
    outcome.steps.clear();  // a retried attempt starts again: nothing of the last one was kept
    ReportSteps listener(reporter, outcome);
    const auto result = dry_run_up(db, preflight.set, preflight.ledger, &listener);
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

int dry_run_tenant(const config::Settings& settings, const std::string& slug_or_id, Reporter& reporter) {
  Preflight preflight(settings);
  const auto tenant = preflight.one_tenant(slug_or_id);
  reporter.run_started("dry-run", 1);
  const auto outcome = run_tenant(tenant, {preflight.key, settings, reporter}, dry_run_work(preflight, reporter));
  reporter.tenant_finished(outcome);
  reporter.line("Dry run: rolled back, nothing was changed.");
  return exit_status_of(outcome);
}

int dry_run_fleet(const config::Settings& settings, const FleetOptions& fleet, Reporter& reporter) {
  Preflight preflight(settings);
  const int total = preflight.selected_count(fleet);
  reporter.run_started("dry-run", total);
  const TenantAccess access{preflight.key, settings, reporter};
  const auto work = dry_run_work(preflight, reporter);
  const auto summary = run_fleet(preflight.pages(), total, fleet, reporter, [&](const registry::TenantRecord& tenant) {
    return run_tenant(tenant, access, work);
  });
  reporter.line("Dry run: rolled back, nothing was changed.");
  return exit_status_of(summary);
}

}  // namespace migrate::runner
