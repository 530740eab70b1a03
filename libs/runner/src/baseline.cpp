#include "migrate/runner/baseline.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "migrate/core/interrupt.hpp"
#include "migrate/core/text.hpp"
#include "migrate/ledger/ledger_lock.hpp"
#include "migrate/pg/connection.hpp"
#include "migrate/runner/tenant_job.hpp"
#include "preflight.hpp"

namespace migrate::runner {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t tenants_named_in_plan = 5;

bool is_timestamp(const std::string& text) {
  return text.size() == 14 && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// What follows the timestamp in a migration's name, without ".sql": "add_invoices".
std::string descriptive_part(std::string name) {
  if (name.ends_with(".sql")) name.resize(name.size() - 4);
  const auto underscore = name.find('_');
  if (underscore == 14 && is_timestamp(name.substr(0, 14))) return name.substr(15);
  return name;
}

// The names that sort next to `name` (two each side) and any with its descriptive part: what a
// person who mistyped a timestamp or a name most likely meant.
std::vector<std::string> names_near(const migrations::MigrationSet& set, const std::string& name) {
  const auto& files = set.files();
  const auto at =
      static_cast<std::size_t>(std::lower_bound(files.begin(), files.end(), name,
                                                [](const auto& file, const std::string& n) { return file.name < n; }) -
                               files.begin());
  std::vector<std::string> near;
  for (std::size_t i = at >= 2 ? at - 2 : 0; i < files.size() && i < at + 2; ++i) near.push_back(files[i].name);
  const auto part = descriptive_part(name);
  for (const auto& file : files)
    if (descriptive_part(file.name) == part && std::find(near.begin(), near.end(), file.name) == near.end())
      near.push_back(file.name);
  return near;
}

// Tells the reporter of the lock's warnings; a baseline has no steps to tell.
class WarningsOnly : public StepListener {
 public:
  WarningsOnly(Reporter& reporter, std::string slug) : reporter_(reporter), slug_(std::move(slug)) {}
  void pending(int) override {}
  void applied(const AppliedStep&, int) override {}
  void warning(const std::string& text) override { reporter_.warning(slug_, text); }

 private:
  Reporter& reporter_;
  std::string slug_;
};

BaselineRefused refused(const ledger::Ledger& ledger) {
  return BaselineRefused("refused: " + ledger.table_name() +
                         " already has rows (the tenant was migrated or baselined); baseline is only for a tenant "
                         "whose ledger is empty; nothing was changed");
}

BaselineRefused no_tables() {
  return BaselineRefused(
      "refused: the database has no tables besides the ledger, so no schema came from elsewhere to record; apply the "
      "migrations with migrate tenant instead; nothing was changed");
}

// Whether the tenant's database has a table, view or sequence of its own, the ledger's left aside.
// A baseline of an empty database would mark a new tenant migrated, and every later run would skip it.
bool has_own_schema(pqxx::transaction_base& tx, const ledger::Ledger& ledger) {
  return tx
      .exec_params(
          "SELECT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
          "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND n.nspname <> 'information_schema' "
          "AND n.nspname NOT LIKE 'pg\\_%' AND c.relname NOT IN ($1, $2, $3, $4, $5))",
          ledger.table_name(), ledger.lock_table_name(), ledger.table_name() + "_id_seq",
          ledger.lock_table_name() + "_index_seq", ledger.checksum_table_name())[0][0]
      .as<bool>();
}

// The plan, shown before anything changes: where, what will be recorded, that none of it runs.
void show_plan(Reporter& reporter, const std::string& where, const migrations::MigrationSet& set,
               const std::vector<const migrations::MigrationFile*>& files) {
  reporter.line("Baseline " + where + ": record " + std::to_string(files.size()) + " migration" +
                (files.size() == 1 ? "" : "s") + " as applied, in one batch, without running any of them:");
  for (const auto* file : files) reporter.line("  " + file->name);
  std::vector<std::string> later;
  for (const auto& file : set.files())
    if (file.name > files.back()->name) later.push_back(file.name);
  if (!later.empty()) reporter.line("Not recorded, left pending for the next run: " + shortened_list(later));
}

std::string question(std::size_t migrations, int tenants) {
  return "Record " + std::to_string(migrations) + " migrations as applied on " + std::to_string(tenants) +
         " tenant(s) without running them? [y/N]";
}

void ask(const Confirm& confirm, std::size_t migrations, int tenants) {
  if (!confirm(question(migrations, tenants))) throw InputError("baseline not confirmed: nothing was changed");
}

TenantWork record_work(const std::vector<const migrations::MigrationFile*>& files, const ledger::Ledger& ledger,
                       const EngineOptions& engine, Reporter& reporter) {
  return [&files, &ledger, engine, &reporter](pg::Connection& db, TenantOutcome& outcome) {
    WarningsOnly listener(reporter, outcome.slug);
    const auto result = record_baseline(db, files, ledger, engine.lock_wait, &listener);
    outcome.batch = result.batch;
    outcome.steps = result.steps;
    outcome.state = TenantState::migrated;
  };
}

int baseline_one(Preflight& preflight, const std::vector<const migrations::MigrationFile*>& files,
                 const std::string& slug_or_id, const EngineOptions& engine, Reporter& reporter,
                 const Confirm& confirm) {
  const auto tenant = preflight.one_tenant(slug_or_id);
  const TenantAccess access{preflight.key, preflight.settings, reporter};
  try {
    // Refused before the question: asking about a tenant that cannot be baselined helps nobody.
    // Checked again under the lock.
    auto checked = run_tenant(tenant, access, [&](pg::Connection& db, TenantOutcome&) {
      const auto applied = preflight.ledger.applied(db);
      if (applied && !applied->empty()) throw refused(preflight.ledger);
      pqxx::read_transaction tx(db);
      if (!has_own_schema(tx, preflight.ledger)) throw no_tables();
    });
    if (checked.state != TenantState::up_to_date) {
      reporter.tenant_finished(checked);
      return exit_status_of(checked);
    }
    show_plan(reporter, "of tenant " + tenant.label(), preflight.set, files);
    ask(confirm, files.size(), 1);
    const auto outcome = run_tenant(tenant, access, record_work(files, preflight.ledger, engine, reporter));
    if (outcome.state == TenantState::migrated)
      reporter.line(outcome.slug + ": baselined, batch " + std::to_string(outcome.batch) + ", " +
                    std::to_string(outcome.steps.size()) + " migration" + (outcome.steps.size() == 1 ? "" : "s") +
                    " recorded as applied without running them");
    else
      reporter.tenant_finished(outcome);
    return exit_status_of(outcome);
  } catch (const BaselineRefused& error) {
    throw BaselineRefused(tenant.label() + ": " + error.what());
  }
}

int baseline_fleet(Preflight& preflight, const std::vector<const migrations::MigrationFile*>& files,
                   const FleetOptions& fleet, const EngineOptions& engine, Reporter& reporter, const Confirm& confirm) {
  const int total = preflight.selected_count(fleet);
  const auto first = preflight.first_selected(fleet, tenants_named_in_plan);
  std::string where = std::to_string(total) + " tenant" + (total == 1 ? "" : "s");
  if (!first.empty()) {
    std::string names;
    for (const auto& label : first) names += (names.empty() ? "" : ", ") + label;
    if (total > static_cast<int>(first.size())) names += " and " + std::to_string(total - first.size()) + " more";
    where += " (" + names + ")";
  }
  show_plan(reporter, "of " + where, preflight.set, files);
  reporter.line("A tenant whose ledger has rows, or whose database has no tables, is refused and left as it is.");
  if (total > 0) ask(confirm, files.size(), total);

  reporter.run_started("baseline", total);
  const TenantAccess access{preflight.key, preflight.settings, reporter};
  const auto work = record_work(files, preflight.ledger, engine, reporter);
  FleetSummary summary;
  try {
    summary = run_fleet(preflight.pages(), total, fleet, reporter, [&](const registry::TenantRecord& tenant) {
      const auto start = Clock::now();
      try {
        return run_tenant(tenant, access, work);
      } catch (const InputError& error) {  // refused: this tenant fails alone, the others go on
        TenantOutcome outcome;
        outcome.slug = tenant.label();
        outcome.state = TenantState::failed;
        outcome.reason = error.what();
        outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        return outcome;
      }
    });
  } catch (const InterruptedError&) {
    throw;
  } catch (const Error& error) {  // the list could not be read at all: nothing was changed
    throw InputError("cannot read tenants table " + preflight.settings.tenants_table + ": " + error.what());
  }
  return exit_status_of(summary);
}

}  // namespace

std::vector<const migrations::MigrationFile*> files_up_to(const migrations::MigrationSet& set,
                                                          const std::string& name) {
  std::string wanted = std::filesystem::path(name).filename().string();
  // The name a knex user reads in the ledger (X.js) stands for X.sql, as the ledger's rows do.
  if (const auto* file = set.find(wanted); file && set.is_legacy_name(wanted)) wanted = file->name;
  std::vector<const migrations::MigrationFile*> files;
  for (const auto& file : set.files()) {
    files.push_back(&file);
    if (file.name == wanted || file.name == wanted + ".sql" || (is_timestamp(wanted) && file.version == wanted))
      return files;
  }
  if (set.files().empty())
    throw InputError("baseline --to " + name + ": " + set.directory().string() + " has no migration files");
  throw InputError("baseline --to " + name + ": no migration in " + set.directory().string() +
                   " is named so (give its file name, with or without .sql, or its 14-digit timestamp); nearest: " +
                   shortened_list(names_near(set, wanted)));
}

EngineResult record_baseline(pqxx::connection_base& db, const std::vector<const migrations::MigrationFile*>& files,
                             const ledger::Ledger& ledger, std::chrono::milliseconds lock_wait,
                             StepListener* listener) {
  pg::enable_dead_client_check(db);
  pqxx::work tx(db);
  const auto warnings = ledger::lock_in_transaction(tx, ledger, lock_wait);
  if (listener)
    for (const auto& text : warnings) listener->warning(text);
  if (!ledger.applied(tx).empty()) throw refused(ledger);  // the transaction rolls back: nothing changed
  if (!has_own_schema(tx, ledger)) throw no_tables();
  EngineResult result{1, {}};  // an empty ledger: the first batch
  for (const auto* file : files) {
    ledger.record(tx, file->name, result.batch, file->checksum);
    result.steps.push_back({file->name, std::chrono::milliseconds(0)});
  }
  ledger::unlock_in_transaction(tx, ledger);
  interrupt::throw_if_requested();  // before the commit, a stop still leaves the tenant as it was
  tx.commit();
  return result;
}

int baseline(const config::Settings& settings, const BaselineRequest& request, const EngineOptions& engine,
             Reporter& reporter, const Confirm& confirm) {
  Preflight preflight(settings);
  const auto files = files_up_to(preflight.set, request.to);
  if (request.tenant) return baseline_one(preflight, files, *request.tenant, engine, reporter, confirm);
  return baseline_fleet(preflight, files, request.fleet, engine, reporter, confirm);
}

}  // namespace migrate::runner
