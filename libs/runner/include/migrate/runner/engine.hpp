#pragma once
// Applying and rolling back one tenant's migrations over an open connection.
#include <pqxx/connection_base>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "migrate/core/error.hpp"
#include "migrate/ledger/ledger.hpp"
#include "migrate/migrations/migration_set.hpp"
#include "migrate/runner/outcome.hpp"
#include "migrate/runner/plan.hpp"

namespace migrate::runner {

enum class TxMode {
  single,         // one transaction for the lock, every pending migration and their ledger rows
  per_migration,  // one transaction per migration (also chosen when a pending one says transaction:false)
};

struct EngineOptions {
  TxMode tx_mode = TxMode::single;
  std::chrono::milliseconds lock_wait{60000};
  // lock_timeout and statement_timeout of the migrations' statements (0 = none), set on the
  // session once there is work to do; the wait for the ledger's lock keeps `lock_wait`.
  std::chrono::milliseconds lock_timeout{5000};
  std::chrono::milliseconds statement_timeout{0};
  // A retry of a run that already committed migrations in this batch: the rest join it, when
  // it is still the newest batch.
  std::optional<int> continue_batch;
  // Apply even when applied files were edited since (see checksums.hpp); the default refuses.
  bool allow_edited = false;
};

// A migration's own SQL failed. Not retried, unless `transient` (a deadlock or serialization
// failure). The message names the file (with the line when PostgreSQL gave a position) and
// PostgreSQL's error.
class MigrationError : public RunError {
 public:
  explicit MigrationError(const std::string& message, bool transient = false) : RunError(message, transient) {}
};

// Told about each step; may be null. A step is told once it committed (a single transaction's
// steps all at once, after its COMMIT), so what a listener hears is what the ledger holds.
struct StepListener {
  virtual ~StepListener() = default;
  virtual void pending(int count) = 0;
  virtual void applied(const AppliedStep& step, int batch) = 0;
  virtual void warning(const std::string& text) = 0;
};

struct EngineResult {
  int batch = 0;
  std::vector<AppliedStep> steps;  // empty: nothing was pending
};

// Applies every pending migration as one batch. With nothing pending it costs one query and
// takes no lock; otherwise the plan is made again under the lock. Refuses (EditedError) when an
// applied file was edited since, unless options.allow_edited; records the checksums of applied
// migrations that have none (the first run after knex, or after an upgrade).
EngineResult migrate_up(pqxx::connection_base& db, const migrations::MigrationSet& set, const ledger::Ledger& ledger,
                        const EngineOptions& options, StepListener* listener);

// Runs the down sections of the migrations `selection` designates (the last batch by default),
// newest first, removing each ledger row with it. Checks every file first: InputError, nothing
// changed.
EngineResult roll_back(pqxx::connection_base& db, const migrations::MigrationSet& set, const ledger::Ledger& ledger,
                       const EngineOptions& options, const RollbackSelection& selection, StepListener* listener);

// Applies `file` alone as a batch of its own (`migrate up NAME`). Already applied, it does
// nothing (no steps), unless `force`: its up section then runs again and its ledger row is
// replaced by one in the new batch, in the same transaction.
EngineResult apply_one(pqxx::connection_base& db, const migrations::MigrationSet& set, const ledger::Ledger& ledger,
                       const EngineOptions& options, const migrations::MigrationFile& file, bool force,
                       StepListener* listener);

// What a dry run found on one tenant.
struct DryRunResult {
  std::vector<std::string> tried;        // applied in a transaction and rolled back, in order
  std::vector<std::string> not_checked;  // from the first transaction:false migration on
};

// `--dry-run`: refuses edited applied files as a run would (options.allow_edited), then applies the
// pending migrations in one transaction on the real database and rolls
// it back, each statement's locks waited for at most `dry_run_lock_timeout`. No lock row, no
// ledger row, nothing kept. A migration that fails throws MigrationError (file:line and
// PostgreSQL's message); later ones are not tried. transaction:false migrations cannot be tried
// this way: that one and every later one are listed as not checked.
DryRunResult dry_run_up(pqxx::connection_base& db, const migrations::MigrationSet& set, const ledger::Ledger& ledger,
                        const EngineOptions& options, StepListener* listener);
inline constexpr std::chrono::milliseconds dry_run_lock_timeout{1000};

struct MigrationStatus {
  std::string name;
  bool applied = false;
  int batch = 0;
  std::string migration_time;
  bool file_missing = false;  // in the ledger, not in the folder
  std::string recorded_as;    // the ledger's name when knex recorded another extension ("X.js")
};

// Every migration, applied or pending, in one read-only query: no lock, no write.
std::vector<MigrationStatus> read_status(pqxx::connection_base& db, const migrations::MigrationSet& set,
                                         const ledger::Ledger& ledger);

}  // namespace migrate::runner
