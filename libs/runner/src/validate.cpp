#include "migrate/runner/validate.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <iostream>
#include <mutex>

#include "migrate/core/interrupt.hpp"
#include "migrate/ledger/ledger_lock.hpp"
#include "migrate/runner/checksums.hpp"
#include "migrate/runner/invalid_indexes.hpp"
#include "migrate/runner/plan.hpp"
#include "migrate/runner/tenant_job.hpp"
#include "preflight.hpp"
#include "report_steps.hpp"

namespace migrate::runner {
namespace {

// The backend pid of another session holding the tenant's advisory lock (a live runner of ours), or 0.
int advisory_holder(pqxx::connection_base& db, const ledger::Ledger& ledger) {
  pqxx::nontransaction tx(db);
  const auto rows = tx.exec(
      "SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid() AND "
      "l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND "
      "((l.classid::bigint << 32) | l.objid::bigint) = " +
      std::to_string(ledger::advisory_key(ledger)) + " LIMIT 1");
  return rows.empty() ? 0 : rows[0][0].as<int>();
}

// What one tenant gave: its findings, or why it could not be read.
struct TenantResult {
  std::string slug;
  TenantValidation validation;
  std::string unreadable;  // the reason, when it could not be read
};

void print(const TenantResult& result, bool json, Reporter& reporter) {
  if (json) {
    const auto emit = [](nlohmann::json object) {
      std::cout << object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    };
    if (!result.unreadable.empty())
      emit({{"event", "unreadable"}, {"tenant", result.slug}, {"reason", result.unreadable}});
    for (const auto& finding : result.validation.findings)
      emit({{"event", "finding"},
            {"tenant", result.slug},
            {"kind", finding.kind},
            {"subject", finding.subject},
            {"message", finding.message}});
    for (const auto& note : result.validation.notes)
      emit({{"event", "note"}, {"tenant", result.slug}, {"message", note}});
    return;
  }
  if (!result.unreadable.empty()) {
    reporter.line(result.slug + ": cannot read: " + result.unreadable);
    return;
  }
  for (const auto& finding : result.validation.findings) reporter.line(result.slug + ": " + finding.message);
  for (const auto& note : result.validation.notes) reporter.line(result.slug + ": note: " + note);
  if (result.validation.findings.empty()) reporter.line(result.slug + ": valid");
}

}  // namespace

TenantValidation validate_tenant(pqxx::connection_base& db, const migrations::MigrationSet& set,
                                 const ledger::Ledger& ledger) {
  TenantValidation result;
  const auto glance = ledger.glance(db);
  if (glance) {
    const auto checked = check_checksums(set, glance->names, glance->checksums);
    for (const auto& file : checked.edited)
      result.findings.push_back(
          {"edited", file.name,
           "edited since it was applied: " + describe_edited({file}) + " (to accept the edit: migrate repair)"});
    if (!checked.unrecorded.empty())
      result.notes.push_back(std::to_string(checked.unrecorded.size()) +
                             " applied migration(s) have no checksum yet (applied by knex or before checksums "
                             "existed): the next run records them");
    std::vector<ledger::AppliedMigration> present;
    for (const auto& name : glance->names) {
      if (set.find(name))
        present.push_back({0, name, 0, {}});
      else
        result.findings.push_back({"missing_file", name,
                                   "applied but missing from " + set.directory().string() + ": " + name +
                                       " (knex calls this a corrupt migration directory; restore the file, or "
                                       "migrate repair --forget-missing)"});
    }
    std::sort(result.findings.begin(), result.findings.end(), [](const Finding& a, const Finding& b) {
      return a.kind != b.kind ? a.kind < b.kind : a.subject < b.subject;
    });
    try {
      for (const auto& name : plan_up(set, present).out_of_order)
        result.findings.push_back({"out_of_order", name,
                                   "pending but older than the newest applied migration: " + name +
                                       " (the next run applies it out of order)"});
    } catch (const RunError& error) {  // two rows for one file
      result.findings.push_back({"ledger", ledger.table_name(), error.what()});
    }
    if (glance->lock_value != 0) {
      const int holder = advisory_holder(db, ledger);
      if (holder == 0)
        result.findings.push_back(
            {"lock_set", ledger.lock_table_name(),
             ledger.lock_table_name() + " is set (is_locked = " + std::to_string(glance->lock_value) + ")" +
                 (glance->lock_value == ledger::held_by_migrate
                      ? " by a migrate runner that died: the next run clears it, or migrate repair"
                      : ": a knex migration is running, or one died holding it; if none is running, migrate repair")});
      else
        result.notes.push_back(ledger.lock_table_name() + " is set by a migrate runner at work (backend pid " +
                               std::to_string(holder) + ")");
    }
  }
  for (const auto& index : invalid_indexes(db)) {
    result.findings.push_back({"invalid_index", index.schema + "." + index.name, invalid_index_advice({index})});
  }
  return result;
}

int validate(const config::Settings& settings, const ValidateRequest& request, Reporter& reporter) {
  Preflight preflight(settings);
  const auto& [set, key, ledger] = std::tie(preflight.set, preflight.key, preflight.ledger);
  SilentReporter silent;
  const auto check = [&](const registry::TenantRecord& tenant, TenantResult& result) {
    result.slug = tenant.label();
    auto outcome = run_tenant(tenant, {key, settings, silent}, [&](pg::Connection& db, TenantOutcome&) {
      result.validation = validate_tenant(db, set, ledger);
    });
    if (outcome.state == TenantState::failed || outcome.state == TenantState::interrupted)
      result.unreadable = outcome.reason.empty() ? "interrupted" : outcome.reason;
    return outcome;
  };

  if (request.tenant) {
    TenantResult result;
    const auto outcome = check(preflight.one_tenant(*request.tenant), result);
    print(result, request.json, reporter);
    if (outcome.state == TenantState::interrupted) return exit_status_of(outcome);
    return result.unreadable.empty() && result.validation.findings.empty() ? exit_ok : exit_failed;
  }

  // Workers finish in any order; the fleet's lines are printed in slug order at the end.
  std::mutex mutex;
  std::vector<TenantResult> results;
  FleetOptions read_only = request.fleet;
  read_only.fail_fast = false;
  const auto summary = run_fleet(preflight.pages(), preflight.selected_count(request.fleet), read_only, silent,
                                 [&](const registry::TenantRecord& tenant) {
                                   TenantResult result;
                                   auto outcome = check(tenant, result);
                                   std::lock_guard lock(mutex);
                                   results.push_back(std::move(result));
                                   return outcome;
                                 });
  std::sort(results.begin(), results.end(), [](const auto& a, const auto& b) { return a.slug < b.slug; });
  int valid = 0, with_findings = 0, unreadable = 0;
  for (const auto& result : results) {
    print(result, request.json, reporter);
    ++(!result.unreadable.empty() ? unreadable : result.validation.findings.empty() ? valid : with_findings);
  }
  if (request.json) {
    nlohmann::json object{
        {"event", "validate_summary"},    {"tenants", results.size()}, {"valid", valid},
        {"with_findings", with_findings}, {"unreadable", unreadable},  {"not_started", summary.not_started}};
    if (!summary.listing_error.empty()) object["listing_error"] = summary.listing_error;
    std::cout << object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  } else {
    reporter.line("Total: " + std::to_string(results.size()) + " tenants: " + std::to_string(valid) + " valid, " +
                  std::to_string(with_findings) + " with findings, " + std::to_string(unreadable) + " unreadable");
    if (!summary.listing_error.empty())
      reporter.line("the tenant list could not be read to the end: " + summary.listing_error);
  }
  if (interrupt::requested()) return exit_status_of(summary);
  return with_findings > 0 || unreadable > 0 || !summary.listing_error.empty() ? exit_failed : exit_ok;
}

}  // namespace migrate::runner
