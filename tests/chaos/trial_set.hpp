#pragma once
// What the crash trials apply, and how they judge a tenant afterwards: a migration set mixing
// transactional and transaction:false migrations, each with a probe of the catalog, and the rules a
// tenant's catalog and ledger must keep whatever moment its runner died.
#include <pqxx/pqxx>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chaos {

// A PostgreSQL server reached as its superuser.
struct Server {
  std::string host;
  int port = 0;
  std::string password;
  std::string conninfo(const std::string& db) const;
};

// The cluster scripts/test.sh or scripts/chaos.sh started (PGHOST, PGPORT, PGPASSWORD).
Server test_cluster();

struct Migration {
  std::string name;  // the file name, as the ledger records it
  bool transactional = true;
  std::string text;   // the whole file
  std::string index;  // transaction:false: the index its section creates
  // Transactional: is its work in the catalog? Never throws for a missing table.
  std::function<bool(pqxx::transaction_base&)> applied;
};

// The set in file order. Every transactional migration also inserts its name into chaos_effects,
// which counts its executions; transaction:false ones sleep, then CREATE INDEX CONCURRENTLY IF NOT EXISTS.
const std::vector<Migration>& migration_set();
// The first migrations of the set, all transactional (a deploy with no transaction:false section).
constexpr std::size_t transactional_prefix = 5;
// Writes the first `count` migrations of the set into `dir`.
void write_migrations(const std::filesystem::path& dir, std::size_t count);

// One tenant's catalog held against its ledger.
struct Inspection {
  std::vector<std::string> inconsistencies;  // each a sentence naming the migration
  std::vector<std::string> invalid_indexes;  // quoted names of indexes a killed CREATE INDEX CONCURRENTLY left invalid
  std::size_t recorded = 0;                  // ledger rows
  int applied_unrecorded = 0;                // transaction:false sections applied and not recorded (allowed)
  int duplicates = 0;                        // executions beyond the first: a ledger name twice, an effect twice
  std::optional<int> lock_value;             // knex_migrations_lock.is_locked; none before the table exists
  // Every migration of the set recorded once and applied, nothing left over, the lock row 0.
  bool complete() const;
};

// Reads the ledger, lock row, effects and catalog of `db` on `server`.
Inspection inspect(const Server& server, const std::string& db);

// Drops what `role` owns in `db`, so the tenant starts again from no migration.
void reset_tenant(const Server& server, const std::string& db, const std::string& role);

// Drops the invalid indexes `inspection` found, as the runner's advice says.
void drop_invalid_indexes(const Server& server, const std::string& db, const Inspection& inspection);

// A tenant a run (with --log-format json) reported failed, and which kind of failure it was.
struct Failure {
  enum class Kind {
    invalid_index,  // documented: an interrupted CREATE INDEX CONCURRENTLY left an invalid index; drop it, run again
    in_doubt,       // documented: the connection broke during COMMIT; never retried, "check this tenant"
    unexpected,     // anything else: a spurious failure
  };
  std::string tenant;
  std::string reason;
  Kind kind = Kind::unexpected;
  std::vector<std::string> retries;  // the reasons of the attempts the run retried before, as evidence
};
std::vector<Failure> failures_in(const std::string& json_output);

// The sessions of a fleet's databases on one server, seen over a connection of its own, opened
// again after the server restarted.
class Watch {
 public:
  Watch(Server server, const std::vector<std::string>& dbs);
  // Backends of migrate (its application_name), in pid order.
  std::vector<int> migrate_backends();
  // Advisory locks held in the fleet's databases, by anyone.
  int advisory_locks();
  // Whether a migrate backend is running a statement containing `text`.
  bool migrate_running(const std::string& text);
  // The database of each migrate backend, by pid.
  std::vector<std::pair<int, std::string>> migrate_sessions();
  // Terminates backend `pid`; false when it had already gone.
  bool terminate(int pid);

 private:
  pqxx::result query(const std::string& sql);

  Server server_;
  std::string in_list_;
  std::unique_ptr<pqxx::connection> connection_;
};

// Calls `ready` every 10 ms until it holds (true) or `timeout` passes (false).
bool poll_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout);

}  // namespace chaos
