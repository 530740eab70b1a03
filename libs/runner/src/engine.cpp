#include "migrate/runner/engine.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <exception>
#include <optional>
#include <regex>

#include "migrate/core/interrupt.hpp"
#include "migrate/ledger/ledger_lock.hpp"
#include "migrate/migrations/statement_split.hpp"
#include "migrate/pg/cancel.hpp"
#include "migrate/pg/connection.hpp"
#include "migrate/pg/errors.hpp"
#include "migrate/runner/checksums.hpp"
#include "migrate/runner/invalid_indexes.hpp"
#include "migrate/runner/lock_timeout.hpp"
#include "migrate/runner/plan.hpp"

namespace migrate::runner {
namespace {

using Clock = std::chrono::steady_clock;
using migrations::MigrationFile;
using migrations::Section;

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// "file.sql:LINE: message" for an error in a text that starts on line `text_line` of `file`: LINE
// is the line PostgreSQL's "LINE n:" points at. Without one, or when it points into a query of
// PostgreSQL's own (shown after "QUERY:", as for an error in a DO block), a single statement
// (`statement`) names its first line and a whole section no line.
MigrationError migration_error(const MigrationFile& file, int text_line, bool statement, const std::exception& error) {
  const std::string message = pg::describe(error);
  std::string where = file.path.filename().string();
  static const std::regex line_marker(R"(LINE (\d+):)");
  std::smatch match;
  if (message.find("\nQUERY:") == std::string::npos && std::regex_search(message, match, line_marker))
    where += ":" + std::to_string(text_line + std::stoi(match[1].str()) - 1);
  else if (statement)
    where += ":" + std::to_string(text_line);
  return MigrationError(where + ": " + message);
}

// How a text goes to the server: as it is (the simple protocol runs every statement in it), or
// through the extended protocol, which refuses a text holding more than one statement.
enum class Send { text, one_statement };

// Runs `sql`, which starts on line `text_line` of `file`, in `tx`. A SQL error becomes a
// MigrationError, transient for a deadlock or serialization failure (its transaction rolled back
// as a whole, so a retry is safe); a broken connection or an in-doubt commit stays what it is.
void run_text(pqxx::transaction_base& tx, const MigrationFile& file, const std::string& sql, int text_line,
              bool statement, Send send = Send::text) {
  try {
    if (send == Send::one_statement)
      tx.exec_params(sql);
    else
      tx.exec(sql);
  } catch (const pqxx::in_doubt_error&) {
    throw;
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const pqxx::statement_completion_unknown&) {
    throw;
  } catch (const pqxx::transaction_rollback& error) {
    throw MigrationError(migration_error(file, text_line, statement, error).what(), /*transient=*/true);
  } catch (const pqxx::failure& error) {
    interrupt::throw_if_requested();  // cancelled because the run was asked to stop
    // Retried unless run alone, outside a transaction: what ran before it in its section stays.
    if (is_lock_timeout(error))
      throw LockTimeoutError(migration_error(file, text_line, statement, error).what(), sql, !statement);
    throw migration_error(file, text_line, statement, error);
  }
}

// Runs `section` of `file` in `tx`: one multi-statement text, so dollar quotes and strings stay whole.
void run_section(pqxx::transaction_base& tx, const MigrationFile& file, const Section& section) {
  run_text(tx, file, section.sql, section.first_line + 1, false);
}

// A transaction:false section: statement by statement, outside any transaction. An error names
// the failing statement's line. Then, whether it failed or not, an invalid index the section
// mentions (a failed CREATE INDEX CONCURRENTLY) fails it, saying how to drop the index.
void run_section_outside_transaction(pqxx::connection_base& db, const MigrationFile& file, const Section& section) {
  std::optional<MigrationError> failure;
  std::exception_ptr thrown;  // as thrown: a LockTimeoutError keeps its type, to name the blocker
  try {
    pqxx::nontransaction tx(db);
    for (const auto& statement : migrations::split_statements(section.sql))
      run_text(tx, file, statement.text, section.first_line + statement.line, true);
  } catch (const MigrationError& error) {
    failure = error;
    thrown = std::current_exception();
  }
  const auto invalid = invalid_indexes_in(db, section.sql);
  if (!invalid.empty()) {
    const std::string what = failure ? std::string(failure->what()) + "\n"
                                     : file.path.filename().string() + ":" + std::to_string(section.first_line) + ": ";
    throw MigrationError(what + invalid_index_advice(invalid));
  }
  if (thrown) std::rethrow_exception(thrown);
}

// Flyway's validate-on-migrate: applied files edited since are refused (EditedError), unless
// --allow-edited, which goes on with a warning.
ChecksumCheck refuse_edited(const migrations::MigrationSet& set, const std::optional<ledger::Glance>& glance,
                            const EngineOptions& options, StepListener* listener) {
  auto checked = glance ? check_checksums(set, glance->names, glance->checksums) : ChecksumCheck{};
  if (!checked.edited.empty()) {
    if (!options.allow_edited) throw EditedError(checked.edited);
    if (listener)
      listener->warning("going on (--allow-edited) although applied migration(s) were edited: " +
                        describe_edited(checked.edited));
  }
  return checked;
}

void tell_pending(StepListener* listener, const UpPlan& plan) {
  if (!listener) return;
  listener->pending(static_cast<int>(plan.pending.size()));
  for (const auto& name : plan.out_of_order)
    listener->warning(name + " is older than the newest applied migration: applying it out of order");
}

// What a single transaction applied is told only once it committed, so that events agree with the ledger.
void tell_committed(StepListener* listener, const EngineResult& result) {
  if (listener)
    for (const auto& step : result.steps) listener->applied(step, result.batch);
}

void tell_warnings(StepListener* listener, const std::vector<std::string>& warnings) {
  if (listener)
    for (const auto& text : warnings) listener->warning(text);
}

bool needs_per_migration(const EngineOptions& options, const UpPlan& plan) {
  if (options.tx_mode == TxMode::per_migration) return true;
  return std::any_of(plan.pending.begin(), plan.pending.end(), [](const auto* file) { return !file->up.transaction; });
}

// Applies one migration and its ledger row in its own transaction, or outside any transaction
// for transaction:false (recorded only once it succeeded).
// `replaced`: ledger rows of this same file to remove with the new one (up --force).
AppliedStep apply_alone(pqxx::connection_base& db, const ledger::Ledger& ledger, const EngineOptions& options,
                        const MigrationFile& file, int batch, const std::vector<int>& replaced = {}) {
  const auto start = Clock::now();
  const auto record = [&](pqxx::transaction_base& tx) {
    for (const int id : replaced) ledger.erase(tx, id);
    ledger.record(tx, file.name, batch, file.checksum);
  };
  if (file.up.transaction) {
    pqxx::work tx(db);
    tx.exec(migration_timeouts_sql(options));
    run_section(tx, file, file.up);
    record(tx);
    tx.commit();
  } else {
    // Never cancelled by a stop request: a CREATE INDEX CONCURRENTLY cut short leaves an invalid
    // index, and work done but not recorded would be reported as rolled back.
    const pg::ShieldFromCancel shield(db);
    set_migration_timeouts(db, options);
    run_section_outside_transaction(db, file, file.up);
    set_migration_timeouts(db, options);
    pqxx::work tx(db);
    record(tx);
    tx.commit();
  }
  return {file.name, since(start)};
}

// Whether `sql` ends or opens a transaction itself (COMMIT, ROLLBACK, BEGIN...): a dry run would
// keep what came before it.
bool controls_transactions(const std::string& sql) {
  static const std::regex control(
      R"(^\s*(commit|end|rollback|abort|begin|start\s+transaction|prepare\s+transaction)\b)", std::regex::icase);
  for (const auto& statement : migrations::split_statements(sql))
    if (std::regex_search(statement.text, control)) return true;
  return false;
}

EngineResult migrate_up_per_migration(pqxx::connection_base& db, const migrations::MigrationSet& set,
                                      const ledger::Ledger& ledger, const EngineOptions& options,
                                      StepListener* listener) {
  ledger::SessionLock lock(db, ledger, options.lock_wait);
  tell_warnings(listener, lock.warnings());
  {
    pqxx::work tx(db);
    const auto recorded = record_missing_checksums(tx, set, ledger);
    tx.commit();
    tell_warnings(listener, recorded);
  }
  const UpPlan plan = [&] {
    pqxx::read_transaction tx(db);
    return plan_up(set, ledger.applied(tx), options.continue_batch);
  }();
  EngineResult result{plan.next_batch, {}};
  if (plan.pending.empty()) {
    lock.release();
    return result;
  }
  tell_pending(listener, plan);
  for (const auto* file : plan.pending) {
    interrupt::throw_if_requested();
    result.steps.push_back(apply_alone(db, ledger, options, *file, plan.next_batch));
    if (listener) listener->applied(result.steps.back(), plan.next_batch);  // committed
  }
  lock.release();
  return result;
}

EngineResult migrate_up_single(pqxx::connection_base& db, const migrations::MigrationSet& set,
                               const ledger::Ledger& ledger, const EngineOptions& options, StepListener* listener) {
  pqxx::work tx(db);
  tell_warnings(listener, ledger::lock_in_transaction(tx, ledger, options.lock_wait));
  tell_warnings(listener, record_missing_checksums(tx, set, ledger));
  const UpPlan plan = plan_up(set, ledger.applied(tx), options.continue_batch);
  EngineResult result{plan.next_batch, {}};
  if (plan.pending.empty()) {  // another runner got there first, or a dead one's lock row was cleared
    ledger::unlock_in_transaction(tx, ledger);
    tx.commit();
    return result;
  }
  if (needs_per_migration(options, plan)) {
    tx.abort();
    return migrate_up_per_migration(db, set, ledger, options, listener);
  }
  tell_pending(listener, plan);
  for (const auto* file : plan.pending) {
    interrupt::throw_if_requested();
    const auto start = Clock::now();
    tx.exec(migration_timeouts_sql(options));  // a migration's own SET ends with it
    run_section(tx, *file, file->up);
    ledger.record(tx, file->name, plan.next_batch, file->checksum);
    result.steps.push_back({file->name, since(start)});
  }
  ledger::unlock_in_transaction(tx, ledger);
  tx.commit();
  tell_committed(listener, result);
  return result;
}

}  // namespace

EngineResult migrate_up(pqxx::connection_base& db, const migrations::MigrationSet& set, const ledger::Ledger& ledger,
                        const EngineOptions& options, StepListener* listener) {
  // The fast path: one query for the applied names and the lock row, no lock, no DDL. Batches are
  // read under the lock, when there is something to apply, or a lock row of ours to clear (a
  // runner that died after its last commit; knex would refuse the tenant while it stays set).
  std::vector<ledger::AppliedMigration> applied;
  const auto glance = ledger.glance(db);
  if (glance)
    for (const auto& name : glance->names) applied.push_back({0, name, 0, {}});
  const UpPlan plan = plan_up(set, applied);
  const bool stale_lock = glance && glance->lock_value == ledger::held_by_migrate;
  const auto checked = refuse_edited(set, glance, options, listener);
  if (plan.pending.empty() && !stale_lock && checked.unrecorded.empty()) return {};
  // Only checksums to record, and knex holds its lock row: an up-to-date tenant does not fail for
  // that; a later run records them.
  if (plan.pending.empty() && !stale_lock && glance->lock_value != 0) {
    tell_warnings(listener, {"checksums of " + std::to_string(checked.unrecorded.size()) +
                             " migration(s) applied before checksums existed (or by knex) not recorded yet: " +
                             ledger.lock_table_name() + " is set; a later run records them"});
    return {};
  }
  pg::enable_dead_client_check(db);
  set_migration_timeouts(db, options);
  if (needs_per_migration(options, plan)) return migrate_up_per_migration(db, set, ledger, options, listener);
  return migrate_up_single(db, set, ledger, options, listener);
}

EngineResult roll_back(pqxx::connection_base& db, const migrations::MigrationSet& set, const ledger::Ledger& ledger,
                       const EngineOptions& options, const RollbackSelection& selection, StepListener* listener) {
  const auto applied = ledger.applied(db);
  if (!applied || applied->empty()) return {};
  const auto chosen = plan_rollback(set, *applied, selection);  // refuses before any change
  if (chosen.empty()) return {};
  const bool per_migration = options.tx_mode == TxMode::per_migration ||
                             std::any_of(chosen.begin(), chosen.end(),
                                         [&](const auto& row) { return !set.find(row.name)->down->transaction; });

  pg::enable_dead_client_check(db);
  set_migration_timeouts(db, options);
  EngineResult result;
  auto revert = [&](pqxx::transaction_base& tx, const ledger::AppliedMigration& row) {
    const auto& file = *set.find(row.name);
    tx.exec(migration_timeouts_sql(options));  // a migration's own SET ends with it
    run_section(tx, file, *file.down);
    ledger.erase(tx, row.id);
  };
  if (!per_migration) {
    pqxx::work tx(db);
    tell_warnings(listener, ledger::lock_in_transaction(tx, ledger, options.lock_wait));
    // Under the lock, the ledger may have moved: plan again.
    const auto locked_rows = plan_rollback(set, ledger.applied(tx), selection);
    if (listener) listener->pending(static_cast<int>(locked_rows.size()));
    for (const auto& row : locked_rows) {
      interrupt::throw_if_requested();
      const auto start = Clock::now();
      revert(tx, row);
      result.steps.push_back({row.name, since(start)});
      result.batch = row.batch;
    }
    ledger::unlock_in_transaction(tx, ledger);
    tx.commit();
    tell_committed(listener, result);
    return result;
  }

  ledger::SessionLock lock(db, ledger, options.lock_wait);
  tell_warnings(listener, lock.warnings());
  const auto locked_rows = [&] {
    pqxx::read_transaction tx(db);
    return plan_rollback(set, ledger.applied(tx), selection);
  }();
  if (listener) listener->pending(static_cast<int>(locked_rows.size()));
  for (const auto& row : locked_rows) {
    interrupt::throw_if_requested();
    const auto start = Clock::now();
    const auto& file = *set.find(row.name);
    if (file.down->transaction) {
      pqxx::work tx(db);
      revert(tx, row);
      tx.commit();
    } else {
      const pg::ShieldFromCancel shield(db);  // as for the up section, see apply_alone()
      set_migration_timeouts(db, options);
      run_section_outside_transaction(db, file, *file.down);
      set_migration_timeouts(db, options);
      pqxx::work tx(db);
      ledger.erase(tx, row.id);
      tx.commit();
    }
    result.steps.push_back({row.name, since(start)});
    result.batch = row.batch;
    if (listener) listener->applied(result.steps.back(), row.batch);  // committed
  }
  lock.release();
  return result;
}

EngineResult apply_one(pqxx::connection_base& db, const migrations::MigrationSet& set, const ledger::Ledger& ledger,
                       const EngineOptions& options, const migrations::MigrationFile& file, bool force,
                       StepListener* listener) {
  refuse_edited(set, ledger.glance(db), options, listener);
  pg::enable_dead_client_check(db);
  set_migration_timeouts(db, options);
  ledger::SessionLock lock(db, ledger, options.lock_wait);
  tell_warnings(listener, lock.warnings());
  const auto applied = [&] {
    pqxx::work tx(db);
    tell_warnings(listener, record_missing_checksums(tx, set, ledger));
    auto rows = ledger.applied(tx);
    tx.commit();
    return rows;
  }();
  const UpPlan plan = plan_up(set, applied);  // refuses a ledger naming vanished files
  std::vector<int> replaced;
  for (const auto& row : applied)
    if (set.find(row.name) == &file) replaced.push_back(row.id);
  EngineResult result{plan.next_batch, {}};
  if (!replaced.empty() && !force) {
    lock.release();
    return result;
  }
  if (listener) {
    listener->pending(1);
    if (std::find(plan.out_of_order.begin(), plan.out_of_order.end(), file.name) != plan.out_of_order.end())
      listener->warning(file.name + " is older than the newest applied migration: applying it out of order");
    if (!replaced.empty()) listener->warning(file.name + " is already applied: --force runs its up section again");
  }
  result.steps.push_back(apply_alone(db, ledger, options, file, plan.next_batch, replaced));
  if (listener) listener->applied(result.steps.back(), plan.next_batch);  // committed
  lock.release();
  return result;
}

DryRunResult dry_run_up(pqxx::connection_base& db, const migrations::MigrationSet& set, const ledger::Ledger& ledger,
                        const EngineOptions& options, StepListener* listener) {
  const UpPlan plan = plan_up(set, ledger.applied(db).value_or(std::vector<ledger::AppliedMigration>{}));
  DryRunResult result;
  if (plan.pending.empty()) return result;
  // What would make a real run fail before it applies anything fails the dry run too: edited
  // applied files, and knex's lock row set.
  const auto glance = ledger.glance(db);
  refuse_edited(set, glance, options, listener);
  if (glance && glance->lock_value != 0 && glance->lock_value != ledger::held_by_migrate)
    throw RunError(ledger.lock_table_name() +
                   " is set (is_locked = 1): a knex migration is running, or one died holding it; a run would fail "
                   "this tenant (if none is running, clear it with `migrate unlock`)");
  tell_pending(listener, plan);
  pqxx::work tx(db);
  // A dry run must never make production traffic queue behind it: the timeout is set again before
  // each statement, so that a migration's own SET or RESET cannot lift it.
  const std::string short_lock_wait =
      "SET LOCAL lock_timeout = '" + std::to_string(dry_run_lock_timeout.count()) + "ms'";
  for (const auto* file : plan.pending) {
    if (!result.not_checked.empty() || !file->up.transaction || controls_transactions(file->up.sql)) {
      result.not_checked.push_back(file->name);
      continue;
    }
    interrupt::throw_if_requested();
    const auto start = Clock::now();
    // Statement by statement, so that a failure names its line even when PostgreSQL gives no
    // position; each through the extended protocol, so that a text the splitter took for one
    // statement but that holds several (one of them a COMMIT) is refused, not run.
    for (const auto& statement : migrations::split_statements(file->up.sql)) {
      tx.exec(short_lock_wait);
      run_text(tx, *file, statement.text, file->up.first_line + statement.line, true, Send::one_statement);
    }
    result.tried.push_back(file->name);
    if (listener) listener->applied({file->name, since(start)}, plan.next_batch);
  }
  tx.abort();
  return result;
}

std::vector<MigrationStatus> read_status(pqxx::connection_base& db, const migrations::MigrationSet& set,
                                         const ledger::Ledger& ledger) {
  const auto applied = ledger.applied(db).value_or(std::vector<ledger::AppliedMigration>{});
  std::vector<MigrationStatus> status;
  for (const auto& file : set.files()) {
    MigrationStatus entry;
    entry.name = file.name;
    for (const auto& row : applied) {
      if (set.find(row.name) != &file) continue;
      entry.applied = true;
      entry.batch = row.batch;
      entry.migration_time = row.migration_time;
      entry.recorded_as = row.name == file.name ? "" : row.name;
    }
    status.push_back(entry);
  }
  for (const auto& row : applied) {
    if (!set.find(row.name)) status.push_back({row.name, true, row.batch, row.migration_time, true, {}});
  }
  std::sort(status.begin(), status.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return status;
}

}  // namespace migrate::runner
