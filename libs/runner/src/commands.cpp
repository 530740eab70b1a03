#include "migrate/runner/commands.hpp"

#include <pqxx/except>

#include <algorithm>
#include <mutex>

#include "migrate/core/error.hpp"
#include "migrate/crypto/key.hpp"
#include "migrate/ledger/ledger_lock.hpp"
#include "migrate/pg/errors.hpp"
#include "migrate/registry/tenant_registry.hpp"
#include "migrate/runner/tenant_job.hpp"

namespace migrate::runner {
namespace {

constexpr int page_size = 500;

pg::ConnectOptions connect_options(const config::Settings& settings) {
  return {settings.connect_timeout};
}

// The central database, or InputError naming where it is (never the password).
std::unique_ptr<pg::Connection> open_central(const config::Settings& settings) {
  try {
    return std::make_unique<pg::Connection>(settings.central_connection, connect_options(settings));
  } catch (const pg::ConnectError& error) {
    throw InputError(std::string("central database unreachable: ") + error.what() + " (check connection in " +
                     settings.knexfile.filename().string() + ", environment " + settings.environment + ")");
  }
}

registry::TenantRecord find_tenant(registry::TenantRegistry& tenants, const config::Settings& settings,
                                   const std::string& slug_or_id) {
  auto tenant = tenants.find(slug_or_id);
  if (!tenant)
    throw InputError("no tenant with slug or id '" + slug_or_id + "' in table " + settings.tenants_table +
                     " (environment " + settings.environment + ")");
  return *tenant;
}

// What the tenant commands need, checked in this order before any tenant database is touched:
// the migration files, the key, the central database.
struct Preflight {
  explicit Preflight(const config::Settings& config)
      : settings(config),
        set(migrations::MigrationSet::load(config.tenant_migrations.directory)),
        key(crypto::key_from_environment()),
        ledger(config.tenant_migrations.table_name),
        central(open_central(config)),
        tenants(*central, config.tenants_table) {}

  // The tenant asked for. The central connection is not needed after it and is closed.
  registry::TenantRecord one_tenant(const std::string& slug_or_id) {
    auto tenant = find_tenant(tenants, settings, slug_or_id);
    central.reset();
    return tenant;
  }
  std::vector<registry::TenantRecord> active_page(const std::string& after) {
    return tenants.active_page(after, page_size);
  }

  const config::Settings& settings;
  const migrations::MigrationSet set;
  const crypto::Secret key;
  const ledger::Ledger ledger;
  std::unique_ptr<pg::Connection> central;
  registry::TenantRegistry tenants;  // usable while `central` is open
};

// Tells a reporter what the engine does for one tenant.
class ReportSteps : public StepListener {
 public:
  ReportSteps(Reporter& reporter, std::string slug) : reporter_(reporter), slug_(std::move(slug)) {}
  void pending(int count) override { reporter_.tenant_started(slug_, count); }
  void applied(const AppliedStep& step) override { reporter_.migration_applied(slug_, step); }
  void warning(const std::string& text) override { reporter_.warning(slug_, text); }

 private:
  Reporter& reporter_;
  std::string slug_;
};

TenantWork up_work(const migrations::MigrationSet& set, const ledger::Ledger& ledger, const EngineOptions& engine,
                   Reporter& reporter, const std::string& slug) {
  return [&set, &ledger, engine, &reporter, slug](pg::Connection& db, TenantOutcome& outcome) {
    ReportSteps listener(reporter, slug);
    auto result = migrate_up(db, set, ledger, engine, &listener);
    outcome.batch = result.batch;
    outcome.steps = std::move(result.steps);
    outcome.state = outcome.steps.empty() ? TenantState::up_to_date : TenantState::migrated;
  };
}

int exit_status_of(const TenantOutcome& outcome) {
  return outcome.state == TenantState::failed ? exit_failed : exit_ok;
}

class SilentReporter : public Reporter {
 public:
  void run_started(const std::string&, int) override {}
  void tenant_started(const std::string&, int) override {}
  void migration_applied(const std::string&, const AppliedStep&) override {}
  void warning(const std::string&, const std::string&) override {}
  void retrying(const std::string&, int, std::chrono::milliseconds, const std::string&) override {}
  void tenant_finished(const TenantOutcome&) override {}
  void run_finished(const FleetSummary&) override {}
  void line(const std::string&) override {}
};

std::string status_line(const std::string& slug, const std::vector<MigrationStatus>& status) {
  int applied = 0;
  int pending = 0;
  std::string latest = "none";
  for (const auto& entry : status) {
    if (entry.applied)
      ++applied, latest = entry.name;
    else
      ++pending;
  }
  return slug + ": " + std::to_string(applied) + " applied, " + std::to_string(pending) + " pending, latest " + latest;
}

}  // namespace

int migrate_tenant(const config::Settings& settings, const std::string& slug_or_id, const EngineOptions& engine,
                   Reporter& reporter) {
  Preflight preflight(settings);
  const auto tenant = preflight.one_tenant(slug_or_id);
  const auto& [set, key, ledger] = std::tie(preflight.set, preflight.key, preflight.ledger);

  const auto outcome =
      run_tenant(tenant, {key, settings, reporter}, up_work(set, ledger, engine, reporter, tenant.slug));
  reporter.tenant_finished(outcome);
  return exit_status_of(outcome);
}

int migrate_all_tenants(const config::Settings& settings, FleetOptions fleet, const EngineOptions& engine, bool claim,
                        Reporter& reporter) {
  Preflight preflight(settings);  // the files are read and checked once per run
  const auto& [set, key, ledger] = std::tie(preflight.set, preflight.key, preflight.ledger);
  auto& tenants = preflight.tenants;
  if (claim) {
    fleet.claims_conninfo = settings.central_connection;
    fleet.claims_connect = connect_options(settings);
  }

  reporter.run_started("all-tenants",
                       fleet.only.empty() ? tenants.count_active() : static_cast<int>(fleet.only.size()));
  const TenantAccess access{key, settings, reporter};
  const auto summary =
      run_fleet([&](const std::string& after) { return tenants.active_page(after, page_size); }, fleet, reporter,
                [&](const registry::TenantRecord& tenant) {
                  return run_tenant(tenant, access, up_work(set, ledger, engine, reporter, tenant.slug));
                });
  return summary.failed > 0 ? exit_failed : exit_ok;
}

int rollback_tenant(const config::Settings& settings, const std::string& slug_or_id, bool all,
                    const EngineOptions& engine, Reporter& reporter) {
  Preflight preflight(settings);
  const auto tenant = preflight.one_tenant(slug_or_id);
  const auto& [set, key, ledger] = std::tie(preflight.set, preflight.key, preflight.ledger);

  const auto outcome = run_tenant(tenant, {key, settings, reporter}, [&](pg::Connection& db, TenantOutcome& result) {
    ReportSteps listener(reporter, tenant.slug);
    auto rolled = roll_back(db, set, ledger, engine, all, &listener);
    result.batch = rolled.batch;
    result.steps = std::move(rolled.steps);
    result.state = result.steps.empty() ? TenantState::up_to_date : TenantState::migrated;
  });
  if (outcome.state == TenantState::migrated)
    reporter.line(tenant.slug + ": rolled back " + std::to_string(outcome.steps.size()) + " migration(s)");
  else if (outcome.state == TenantState::up_to_date)
    reporter.line(tenant.slug + ": nothing to roll back");
  else
    reporter.tenant_finished(outcome);
  return exit_status_of(outcome);
}

int show_status(const config::Settings& settings, const std::optional<std::string>& slug_or_id,
                const FleetOptions& fleet, Reporter& reporter) {
  Preflight preflight(settings);
  const auto& [set, key, ledger] = std::tie(preflight.set, preflight.key, preflight.ledger);
  auto& tenants = preflight.tenants;

  if (slug_or_id) {
    const auto tenant = preflight.one_tenant(*slug_or_id);
    const auto outcome = run_tenant(tenant, {key, settings, reporter}, [&](pg::Connection& db, TenantOutcome&) {
      for (const auto& entry : read_status(db, set, ledger)) {
        if (entry.file_missing)
          reporter.line(entry.name + "  applied (batch " + std::to_string(entry.batch) + ", " + entry.migration_time +
                        ")  FILE MISSING");
        else if (entry.applied)
          reporter.line(entry.name + "  applied (batch " + std::to_string(entry.batch) + ", " + entry.migration_time +
                        ")");
        else
          reporter.line(entry.name + "  pending");
      }
    });
    if (outcome.state == TenantState::failed) reporter.tenant_finished(outcome);
    return exit_status_of(outcome);
  }

  // Workers finish in any order; the fleet's lines are printed in slug order at the end.
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> lines;
  int up_to_date = 0, behind = 0, failed = 0;
  SilentReporter silent;
  run_fleet([&](const std::string& after) { return tenants.active_page(after, page_size); }, fleet, silent,
            [&](const registry::TenantRecord& tenant) {
              std::string text;
              int pending = 0;
              auto outcome = run_tenant(tenant, {key, settings, silent}, [&](pg::Connection& db, TenantOutcome&) {
                const auto status = read_status(db, set, ledger);
                for (const auto& entry : status) pending += entry.applied ? 0 : 1;
                text = status_line(tenant.slug, status);
              });
              std::lock_guard lock(mutex);
              if (outcome.state == TenantState::failed) {
                ++failed;
                text = tenant.slug + ": cannot read status: " + outcome.reason;
              } else {
                ++(pending == 0 ? up_to_date : behind);
              }
              lines.emplace_back(tenant.slug, std::move(text));
              return outcome;
            });
  std::sort(lines.begin(), lines.end());
  for (const auto& [slug, text] : lines) reporter.line(text);
  reporter.line("Total: " + std::to_string(lines.size()) + " tenants: " + std::to_string(up_to_date) + " up to date, " +
                std::to_string(behind) + " with pending migrations, " + std::to_string(failed) + " unreadable");
  return failed > 0 ? exit_failed : exit_ok;
}

int migrate_central(const config::Settings& settings, const EngineOptions& engine, Reporter& reporter) {
  const auto set = migrations::MigrationSet::load(settings.central_migrations.directory);
  const ledger::Ledger ledger(settings.central_migrations.table_name);
  auto central = open_central(settings);
  ReportSteps listener(reporter, "central");
  TenantOutcome outcome;
  outcome.slug = "central";
  const auto start = std::chrono::steady_clock::now();
  try {
    auto result = migrate_up(*central, set, ledger, engine, &listener);
    outcome.batch = result.batch;
    outcome.steps = std::move(result.steps);
    outcome.state = outcome.steps.empty() ? TenantState::up_to_date : TenantState::migrated;
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& error) {
    outcome.state = TenantState::failed;
    outcome.reason = dynamic_cast<const MigrationError*>(&error) ? error.what() : pg::describe(error);
  }
  outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  reporter.tenant_finished(outcome);
  return exit_status_of(outcome);
}

int unlock_tenant(const config::Settings& settings, const std::string& slug_or_id, Reporter& reporter) {
  const auto key = crypto::key_from_environment();
  const ledger::Ledger ledger(settings.tenant_migrations.table_name);
  auto central = open_central(settings);
  registry::TenantRegistry tenants(*central, settings.tenants_table);
  const auto tenant = find_tenant(tenants, settings, slug_or_id);
  central.reset();
  const auto outcome = run_tenant(tenant, {key, settings, reporter}, [&](pg::Connection& db, TenantOutcome&) {
    const int was = ledger::force_unlock(db, ledger);
    reporter.line(tenant.slug + ": " + ledger.lock_table_name() +
                  (was == 0 ? " was not locked" : " unlocked (is_locked was " + std::to_string(was) + ")"));
  });
  if (outcome.state == TenantState::failed) reporter.tenant_finished(outcome);
  return exit_status_of(outcome);
}

}  // namespace migrate::runner
