#include "migrate/runner/repair.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <mutex>
#include <set>

#include "migrate/core/interrupt.hpp"
#include "migrate/ledger/ledger_lock.hpp"
#include "migrate/runner/tenant_job.hpp"
#include "preflight.hpp"
#include "report_steps.hpp"

namespace migrate::runner {
namespace {

constexpr const char* lock_not_available = "55P03";

bool exists(pqxx::transaction_base& tx, const std::string& quoted_table) {
  return !tx.exec_params("SELECT to_regclass($1) IS NULL", quoted_table)[0][0].as<bool>();
}

// knex's lock table as knex expects it: one row, not set. Returns what was changed.
std::vector<std::string> repair_lock_table(pqxx::transaction_base& tx, const ledger::Ledger& ledger) {
  std::vector<std::string> changes;
  const auto& table = ledger.quoted_lock_table();
  const auto& name = ledger.lock_table_name();
  const auto rows = tx.exec("SELECT index, is_locked FROM " + table + " ORDER BY index FOR UPDATE");
  if (rows.empty()) {
    tx.exec("INSERT INTO " + table + " (is_locked) VALUES (0)");
    changes.push_back(name + ": inserted its row (it had none; knex expects one)");
    return changes;
  }
  if (rows.size() > 1) {
    tx.exec_params("DELETE FROM " + table + " WHERE index <> $1", rows[0][0].as<int>());
    changes.push_back(name + ": removed " + std::to_string(rows.size() - 1) + " extra row(s) (knex expects one)");
  }
  const int value = rows[0][1].as<int>(0);
  if (value != 0) {
    tx.exec("UPDATE " + table + " SET is_locked = 0");
    changes.push_back(name + ": cleared is_locked = " + std::to_string(value) +
                      (value == ledger::held_by_migrate ? " (left by a migrate runner that died)"
                                                        : " (set by knex, which no longer holds it)"));
  }
  return changes;
}

struct TenantResult {
  std::string slug;
  TenantRepair repair;
  std::string failure;
};

std::vector<std::string> lines_of(const TenantResult& result, bool forget_missing) {
  std::vector<std::string> lines;
  if (!result.failure.empty()) return {result.slug + ": not repaired: " + result.failure};
  for (const auto& change : result.repair.changes) lines.push_back(result.slug + ": " + change);
  for (const auto& left : result.repair.left) lines.push_back(result.slug + ": " + left);
  if (!result.repair.left.empty() && !forget_missing)
    lines.push_back(
        result.slug +
        ": left in the ledger: restore the file(s), or run repair with --forget-missing to remove their rows");
  if (result.repair.changes.empty() && result.repair.left.empty()) lines.push_back(result.slug + ": nothing to repair");
  return lines;
}

}  // namespace

TenantRepair repair_tenant(pqxx::connection_base& db, const migrations::MigrationSet& set, const ledger::Ledger& ledger,
                           bool forget_missing, std::chrono::milliseconds lock_wait) {
  TenantRepair result;
  pqxx::work tx(db);
  if (!exists(tx, ledger.quoted_table())) return result;  // never migrated: nothing to repair, nothing created
  try {
    // As a run does: the advisory lock, which a live runner holds, so that nothing runs meanwhile.
    tx.exec("SET LOCAL lock_timeout = '" + std::to_string(std::max<std::int64_t>(1, lock_wait.count())) +
            "ms'; SELECT pg_advisory_xact_lock(" + std::to_string(ledger::advisory_key(ledger)) + ")");
  } catch (const pqxx::sql_error& error) {
    if (error.sqlstate() == lock_not_available)
      throw ledger::BusyError("busy: a migrate runner holds this tenant; repair it when the run is done");
    throw;
  }
  const bool had_lock_table = exists(tx, ledger.quoted_lock_table());
  ledger.create_tables(tx);  // the checksum table, and knex's lock table if it was gone
  if (!had_lock_table) result.changes.push_back(ledger.lock_table_name() + ": created (it was missing)");
  for (auto& change : repair_lock_table(tx, ledger)) {
    if (had_lock_table) result.changes.push_back(std::move(change));
  }

  const auto checksums = ledger.checksums(tx);
  std::set<std::string> seen;
  for (const auto& row : ledger.applied(tx)) {
    const auto* file = set.find(row.name);
    if (!file) {
      if (forget_missing) {
        ledger.erase(tx, row.id);
        result.changes.push_back(row.name + ": ledger row removed (batch " + std::to_string(row.batch) +
                                 "; its file is gone from " + set.directory().string() + ")");
      } else {
        result.left.push_back(row.name + ": applied, but its file is gone from " + set.directory().string());
      }
      continue;
    }
    if (!seen.insert(file->name).second) continue;
    const auto recorded = checksums.find(file->name);
    if (recorded != checksums.end() && recorded->second == file->checksum) continue;
    ledger.record_checksum(tx, file->name, file->checksum);
    result.changes.push_back(file->name + (recorded == checksums.end()
                                               ? ": checksum recorded (it had none)"
                                               : ": checksum re-recorded (was " + recorded->second.substr(0, 12) +
                                                     ", now " + file->checksum.substr(0, 12) + ")"));
  }
  interrupt::throw_if_requested();  // before the commit, a stop leaves the tenant as it was
  tx.commit();
  return result;
}

int repair(const config::Settings& settings, const RepairRequest& request, Reporter& reporter,
           const RepairConfirm& confirm) {
  Preflight preflight(settings);
  const auto& [set, key, ledger] = std::tie(preflight.set, preflight.key, preflight.ledger);
  const auto work = [&](const registry::TenantRecord& tenant, Reporter& to, TenantResult& result) {
    result.slug = tenant.label();
    auto outcome = run_tenant(tenant, {key, settings, to}, [&](pg::Connection& db, TenantOutcome&) {
      result.repair = repair_tenant(db, set, ledger, request.forget_missing, settings.lock_wait);
    });
    if (outcome.state == TenantState::failed || outcome.state == TenantState::interrupted)
      result.failure = outcome.reason.empty() ? "interrupted" : outcome.reason;
    return outcome;
  };
  const auto status_of = [&](const TenantResult& result) {
    return result.failure.empty() && (request.forget_missing || result.repair.left.empty()) ? exit_ok : exit_failed;
  };

  if (request.tenant) {
    TenantResult result;
    const auto outcome = work(preflight.one_tenant(*request.tenant), reporter, result);
    for (const auto& text : lines_of(result, request.forget_missing)) reporter.line(text);
    if (outcome.state == TenantState::interrupted) return exit_status_of(outcome);
    return status_of(result);
  }

  const int total = preflight.selected_count(request.fleet);
  if (total > 0 && !confirm("Repair " + std::to_string(total) + " tenant(s): re-record the checksums of edited files" +
                            (request.forget_missing ? ", remove the ledger rows of vanished files" : "") +
                            " and repair the lock tables? [y/N]"))
    throw InputError("repair not confirmed: nothing was changed");
  std::mutex mutex;
  std::vector<TenantResult> results;
  SilentReporter silent;
  FleetOptions fleet = request.fleet;
  fleet.fail_fast = false;
  const auto summary = run_fleet(preflight.pages(), total, fleet, silent, [&](const registry::TenantRecord& tenant) {
    TenantResult result;
    auto outcome = work(tenant, silent, result);
    std::lock_guard lock(mutex);
    results.push_back(std::move(result));
    return outcome;
  });
  std::sort(results.begin(), results.end(), [](const auto& a, const auto& b) { return a.slug < b.slug; });
  int repaired = 0, clean = 0, failed = 0;
  for (const auto& result : results) {
    for (const auto& text : lines_of(result, request.forget_missing)) reporter.line(text);
    ++(status_of(result) != exit_ok ? failed : result.repair.changes.empty() ? clean : repaired);
  }
  reporter.line("Total: " + std::to_string(results.size()) + " tenants: " + std::to_string(repaired) + " repaired, " +
                std::to_string(clean) + " with nothing to repair, " + std::to_string(failed) +
                " failed or left with vanished files");
  if (!summary.listing_error.empty())
    reporter.line("the tenant list could not be read to the end: " + summary.listing_error);
  if (interrupt::requested()) return exit_status_of(summary);
  return failed > 0 || !summary.listing_error.empty() ? exit_failed : exit_ok;
}

}  // namespace migrate::runner
