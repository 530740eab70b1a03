#include "migrate/runner/commands.hpp"

#include <algorithm>
#include <mutex>

#include "central_reader.hpp"
#include "migrate/core/error.hpp"
#include "migrate/core/interrupt.hpp"
#include "migrate/core/text.hpp"
#include "migrate/crypto/key_ring.hpp"
#include "migrate/ledger/ledger_lock.hpp"
#include "migrate/pg/errors.hpp"
#include "migrate/registry/tenant_registry.hpp"
#include "migrate/runner/lock_timeout.hpp"
#include "migrate/runner/tenant_job.hpp"
#include "preflight.hpp"
#include "report_steps.hpp"
#include "up_work.hpp"

namespace migrate::runner {
namespace {

// The ledger names of applied migrations whose file the folder no longer has: a run fails such a tenant.
std::vector<std::string> missing_files(const std::vector<MigrationStatus>& status) {
  std::vector<std::string> names;
  for (const auto& entry : status)
    if (entry.file_missing) names.push_back(entry.name);
  return names;
}

std::string status_line(const std::string& slug, const std::vector<MigrationStatus>& status) {
  int applied = 0;
  int pending = 0;
  std::string latest = "none";
  for (const auto& entry : status) {
    if (entry.file_missing) continue;
    if (entry.applied)
      ++applied, latest = entry.name;
    else
      ++pending;
  }
  const auto missing = missing_files(status);
  const std::string missing_text = missing.empty()
                                       ? ""
                                       : std::to_string(missing.size()) + (missing.size() == 1 ? " file" : " files") +
                                             " missing (" + shortened_list(missing) + "), ";
  return slug + ": " + std::to_string(applied) + " applied, " + std::to_string(pending) + " pending, " + missing_text +
         "latest " + latest;
}

}  // namespace

TenantWork up_work(const migrations::MigrationSet& set, const ledger::Ledger& ledger, const EngineOptions& engine,
                   Reporter& reporter) {
  return [&set, &ledger, engine, &reporter](pg::Connection& db, TenantOutcome& outcome) {
    ReportSteps listener(reporter, outcome);
    auto options = engine;
    // A retry after some migrations committed adds the rest to the same batch.
    if (!outcome.steps.empty()) options.continue_batch = outcome.batch;
    migrate_up(db, set, ledger, options, &listener);
    outcome.state = outcome.steps.empty() ? TenantState::up_to_date : TenantState::migrated;
  };
}

int migrate_tenant(const config::Settings& settings, const std::string& slug_or_id, const EngineOptions& engine,
                   Reporter& reporter) {
  Preflight preflight(settings);
  const auto tenant = preflight.one_tenant(slug_or_id);
  const auto outcome = run_tenant(tenant, {preflight.key, settings, reporter},
                                  up_work(preflight.set, preflight.ledger, engine, reporter));
  reporter.tenant_finished(outcome);
  return exit_status_of(outcome);
}

int migrate_all_tenants(const config::Settings& settings, FleetOptions fleet, const EngineOptions& engine, bool claim,
                        Reporter& reporter) {
  Preflight preflight(settings);  // the files are read and checked once per run
  if (claim) {
    fleet.claims_target = preflight.central.target();
    fleet.claims_connect = preflight.central.connect_options();
    fleet.claims_scope = claim_scope(settings.environment, preflight.ledger.table_name(), preflight.set);
  }
  const int total = preflight.selected_count(fleet);
  reporter.run_started("all-tenants", total);
  const TenantAccess access{preflight.key, settings, reporter};
  const auto work = up_work(preflight.set, preflight.ledger, engine, reporter);
  FleetSummary summary;
  try {
    summary = run_fleet(preflight.pages(), total, fleet, reporter,
                        [&](const registry::TenantRecord& tenant) { return run_tenant(tenant, access, work); });
  } catch (const InterruptedError&) {
    throw;
  } catch (const Error& error) {  // the list could not be read at all: nothing was changed
    throw InputError("cannot read tenants table " + settings.tenants_table + ": " + error.what());
  }
  return exit_status_of(summary);
}

int show_status(const config::Settings& settings, const std::optional<std::string>& slug_or_id,
                const FleetOptions& fleet, Reporter& reporter) {
  Preflight preflight(settings);
  const auto& [set, key, ledger] = std::tie(preflight.set, preflight.key, preflight.ledger);

  if (slug_or_id) {
    const auto tenant = preflight.one_tenant(*slug_or_id);
    std::vector<std::string> missing;
    const auto outcome = run_tenant(tenant, {key, settings, reporter}, [&](pg::Connection& db, TenantOutcome&) {
      const auto status = read_status(db, set, ledger);
      missing = missing_files(status);
      for (const auto& entry : status) {
        if (entry.file_missing)
          reporter.line(entry.name + "  applied (batch " + std::to_string(entry.batch) + ", " + entry.migration_time +
                        ")  FILE MISSING");
        else if (entry.applied)
          reporter.line(entry.name + "  applied (batch " + std::to_string(entry.batch) + ", " + entry.migration_time +
                        (entry.recorded_as.empty() ? "" : ", recorded by knex as " + entry.recorded_as) + ")");
        else
          reporter.line(entry.name + "  pending");
      }
    });
    if (outcome.state != TenantState::up_to_date) reporter.tenant_finished(outcome);
    if (outcome.state == TenantState::up_to_date && !missing.empty()) {
      reporter.line(outcome.slug + ": " + std::to_string(missing.size()) +
                    (missing.size() == 1 ? " applied migration has no file: " : " applied migrations have no file: ") +
                    shortened_list(missing) + "; a run would fail this tenant");
      return exit_failed;
    }
    return exit_status_of(outcome);
  }

  // Workers finish in any order; the fleet's lines are printed in slug order at the end.
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> lines;
  int up_to_date = 0, behind = 0, with_missing = 0, failed = 0;
  SilentReporter silent;
  FleetOptions read_only = fleet;
  read_only.fail_fast = false;
  const auto summary = run_fleet(
      preflight.pages(), preflight.selected_count(fleet), read_only, silent, [&](const registry::TenantRecord& tenant) {
        std::string text;
        int pending = 0;
        bool missing = false;
        auto outcome = run_tenant(tenant, {key, settings, silent}, [&](pg::Connection& db, TenantOutcome&) {
          const auto status = read_status(db, set, ledger);
          for (const auto& entry : status) pending += entry.applied ? 0 : 1;
          missing = !missing_files(status).empty();
          text = status_line(tenant.label(), status);
        });
        std::lock_guard lock(mutex);
        if (outcome.state == TenantState::failed) {
          ++failed;
          text = tenant.label() + ": cannot read status: " + outcome.reason;
        } else if (outcome.state == TenantState::up_to_date) {
          ++(missing ? with_missing : pending == 0 ? up_to_date : behind);
        }
        if (!text.empty()) lines.emplace_back(tenant.label(), std::move(text));
        return outcome;
      });
  std::sort(lines.begin(), lines.end());
  for (const auto& [slug, text] : lines) reporter.line(text);
  reporter.line("Total: " + std::to_string(lines.size()) + " tenants: " + std::to_string(up_to_date) + " up to date, " +
                std::to_string(behind) + " with pending migrations, " + std::to_string(with_missing) +
                " with missing files, " + std::to_string(failed) + " unreadable");
  if (!summary.listing_error.empty())
    reporter.line("the tenant list could not be read to the end: " + summary.listing_error);
  if (interrupt::requested()) return exit_status_of(summary);
  return failed > 0 || with_missing > 0 || !summary.listing_error.empty() ? exit_failed : exit_ok;
}

int migrate_central(const config::Settings& settings, const EngineOptions& engine, Reporter& reporter) {
  const auto set = migrations::MigrationSet::load(settings.central_migrations.directory,
                                                  settings.central_migrations.legacy_extensions);
  const ledger::Ledger ledger(settings.central_migrations.table_name);
  const CentralReader central(settings);  // checks that it parses and answers
  pg::Connection db(central.target(), central.connect_options());
  TenantOutcome outcome;
  outcome.slug = "central";
  ReportSteps listener(reporter, outcome);
  const auto start = std::chrono::steady_clock::now();
  try {
    try {
      migrate_up(db, set, ledger, engine, &listener);
    } catch (const LockTimeoutError& error) {
      throw with_blockers(db, error);
    } catch (...) {
      pg::rethrow_as_error(&db);
    }
    outcome.state = outcome.steps.empty() ? TenantState::up_to_date : TenantState::migrated;
  } catch (const InputError&) {
    throw;
  } catch (const InterruptedError& error) {
    outcome.state = TenantState::interrupted;
    outcome.reason = error.what();
  } catch (const Error& error) {
    outcome.state = TenantState::failed;
    outcome.reason = error.what();
  }
  outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  reporter.tenant_finished(outcome);
  return exit_status_of(outcome);
}

int unlock_tenant(const config::Settings& settings, const std::string& slug_or_id, Reporter& reporter) {
  const auto key = crypto::KeyRing::from_environment();
  const ledger::Ledger ledger(settings.tenant_migrations.table_name);
  const auto tenant = CentralReader(settings).find_tenant(slug_or_id);
  TenantOutcome outcome;
  try {
    outcome = run_tenant(tenant, {key, settings, reporter}, [&](pg::Connection& db, TenantOutcome&) {
      const int was = ledger::force_unlock(db, ledger);
      reporter.line(tenant.label() + ": " + ledger.lock_table_name() +
                    (was == 0 ? " was not locked" : " unlocked (is_locked was " + std::to_string(was) + ")"));
    });
  } catch (const InputError& error) {
    throw InputError(tenant.label() + ": " + error.what());
  }
  if (outcome.state != TenantState::up_to_date) reporter.tenant_finished(outcome);
  return exit_status_of(outcome);
}

}  // namespace migrate::runner
