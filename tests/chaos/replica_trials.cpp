// Three replicas of `migrate all-tenants` at once over a fleet of eight tenants on a second cluster
// the trials start themselves, while tenant backends are terminated and that server is restarted at
// random moments. Each round: every replica exits 0 (the knexfile's retries outlast the faults), each
// migration is executed and recorded exactly once, and every tenant ends complete.
#include <catch2/catch.hpp>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "chaos/next_run.hpp"
#include "chaos/tally.hpp"
#include "chaos/trial_set.hpp"
#include "support/cluster.hpp"
#include "support/fleet.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int tenant_count = 8;
constexpr int replica_count = 3;
constexpr auto round_deadline = std::chrono::seconds(180);  // a round still running then is a hang

int uniform(std::mt19937_64& random, int low, int high) {
  return std::uniform_int_distribution<int>(low, high)(random);
}

// A throwaway cluster of its own (scripts/pg-cluster.sh), so that restarting it disturbs no other test.
class SecondCluster {
 public:
  SecondCluster()
      : dir_(std::filesystem::temp_directory_path() / support::unique_name("migrate-chaos-") / "pg"),
        script_(std::string(MIGRATE_SOURCE_DIR) + "/scripts/pg-cluster.sh") {
    const int port = support::free_port();
    const auto started = support::run({script_, "start", dir_.string(), std::to_string(port)});
    INFO(started.all());
    REQUIRE(started.exit_code == 0);
    server_ = {"127.0.0.1", port, ""};
    std::ifstream env(dir_ / "env");
    for (std::string line; std::getline(env, line);)
      if (line.rfind("export PGPASSWORD=", 0) == 0) server_.password = line.substr(18);
  }
  ~SecondCluster() {
    support::run({script_, "stop", dir_.string()});
    std::error_code ignored;
    std::filesystem::remove_all(dir_.parent_path(), ignored);
  }
  SecondCluster(const SecondCluster&) = delete;
  SecondCluster& operator=(const SecondCluster&) = delete;

  // A fast shutdown (every session terminated, as pg_ctl restart -m fast does), then a start that
  // returns once the server accepts connections.
  void restart() {
    const auto stopped = support::run({script_, "stop", dir_.string()});
    REQUIRE(stopped.exit_code == 0);
    const auto started = support::run({script_, "start", dir_.string()});
    INFO(started.all());
    REQUIRE(started.exit_code == 0);
  }
  const chaos::Server& server() const { return server_; }

 private:
  std::filesystem::path dir_;
  std::string script_;
  chaos::Server server_;
};

// What one round chose, from the seeded generator.
struct RoundPlan {
  bool per_migration = false;
  std::vector<int> concurrency;        // per replica
  std::vector<int> delays_ms;          // before each disruption
  int restart_at = -1;                 // the disruption that is a restart, or none
  std::vector<std::uint64_t> victims;  // per disruption: which migrate backend to terminate

  std::string tx_mode() const { return per_migration ? "per-migration" : "single"; }
  std::string describe() const {
    std::ostringstream text;
    text << tx_mode() << ", concurrency";
    for (const int c : concurrency) text << " " << c;
    text << ", " << delays_ms.size() << " disruptions" << (restart_at >= 0 ? " (one a restart)" : "");
    return text.str();
  }
};

class ReplicaTrials {
 public:
  ReplicaTrials() : fleet_("retry:\n  attempts: 12\n  initialDelayMs: 100\n  maxDelayMs: 1000\n") {
    chaos::write_migrations(fleet_.migrations_dir(), chaos::migration_set().size());
    // Tenants on the second cluster: each role and database made there too, and the rows pointed at it.
    std::vector<std::string> dbs;
    for (int i = 0; i < tenant_count; ++i) {
      const auto tenant = fleet_.add_tenant("tenant-" + std::to_string(i));
      pqxx::connection admin(cluster_.server().conninfo("postgres"));
      pqxx::nontransaction tx(admin);
      tx.exec("CREATE ROLE " + tx.quote_name(tenant.role) + " LOGIN PASSWORD " + tx.quote(tenant.password));
      tx.exec("CREATE DATABASE " + tx.quote_name(tenant.db) + " OWNER " + tx.quote_name(tenant.role));
      dbs.push_back(tenant.db);
    }
    support::admin_exec("UPDATE tenants SET db_port = " + std::to_string(cluster_.server().port), fleet_.central_db());
    watch_ = std::make_unique<chaos::Watch>(cluster_.server(), dbs);
  }

  RoundPlan plan(std::mt19937_64& random) {
    RoundPlan plan;
    plan.per_migration = uniform(random, 0, 1) == 1;
    for (int i = 0; i < replica_count; ++i) plan.concurrency.push_back(uniform(random, 1, 3));
    const int disruptions = uniform(random, 1, 4);
    for (int i = 0; i < disruptions; ++i) {
      plan.delays_ms.push_back(uniform(random, 100, 900));
      plan.victims.push_back(std::uniform_int_distribution<std::uint64_t>()(random));
    }
    if (uniform(random, 0, 1) == 1) plan.restart_at = uniform(random, 0, disruptions - 1);
    return plan;
  }

  // One round; returns what went wrong, a sentence each.
  std::vector<std::string> run(const RoundPlan& plan, std::string& summary) {
    auto& tally = chaos::tally();
    std::vector<std::string> problems;
    for (const auto& tenant : fleet_.tenants()) chaos::reset_tenant(cluster_.server(), tenant.db, tenant.role);
    ++tally.replica_rounds;

    std::vector<support::Process> replicas;
    std::vector<std::optional<support::ProcessResult>> results(replica_count);
    for (int i = 0; i < replica_count; ++i)
      replicas.push_back(fleet_.spawn({"--log-format", "json", "all-tenants", "--concurrency",
                                       std::to_string(plan.concurrency[i]), "--tx-mode", plan.tx_mode()}));
    const auto all_ended = [&] {
      bool ended = true;
      for (int i = 0; i < replica_count; ++i) {
        if (!results[i]) results[i] = replicas[i].poll();
        ended = ended && results[i].has_value();
      }
      return ended;
    };

    // The experiment: a random delay, then a terminated backend or a restart, while the replicas run.
    int terminated = 0;
    int restarted = 0;
    for (std::size_t d = 0; d < plan.delays_ms.size(); ++d) {
      const auto start = Clock::now();
      chaos::poll_until([&] { return all_ended() || Clock::now() - start >= milliseconds(plan.delays_ms[d]); },
                        round_deadline);
      if (all_ended()) break;
      if (static_cast<int>(d) == plan.restart_at) {
        cluster_.restart();
        ++restarted;
        continue;
      }
      const auto sessions = watch_->migrate_backends();
      if (sessions.empty()) continue;
      if (watch_->terminate(sessions[plan.victims[d] % sessions.size()])) ++terminated;
    }
    tally.terminations += terminated;
    tally.restarts += restarted;
    REQUIRE(chaos::poll_until(all_ended, round_deadline));

    bool documented_failure = false;
    for (int i = 0; i < replica_count; ++i) {
      const auto& result = *results[i];
      fleet_.require_no_secret(result.all());
      if (result.exit_code == 0) continue;
      const auto failures = chaos::failures_in(result.out);
      if (failures.empty()) {
        ++tally.spurious_failures;
        problems.push_back("replica " + std::to_string(i + 1) + " exited " + std::to_string(result.exit_code) + ": " +
                           result.all());
      }
      for (const auto& failure : failures) {
        if (failure.kind == chaos::Failure::Kind::unexpected) {
          ++tally.spurious_failures;
          problems.push_back("replica " + std::to_string(i + 1) + ": " + failure.tenant +
                             ": FAILED: " + failure.reason);
          continue;
        }
        documented_failure = true;
        if (failure.kind == chaos::Failure::Kind::in_doubt) ++tally.in_doubt;
        std::cout << "  documented: replica " << i + 1 << ": " << failure.tenant << ": " << failure.reason << std::endl;
      }
    }

    // Whatever the replicas said: nothing executed or recorded twice, catalog and ledger agreeing.
    // When every replica said done, every tenant is complete.
    const bool all_done = problems.empty() && !documented_failure;
    for (const auto& tenant : fleet_.tenants()) {
      const auto found = chaos::inspect(cluster_.server(), tenant.db);
      tally.inconsistencies += static_cast<int>(found.inconsistencies.size());
      chaos::add_inconsistencies(problems, tenant.slug, found);
      tally.duplicates += found.duplicates;
      if (found.duplicates > 0)
        problems.push_back(tenant.slug + ": " + std::to_string(found.duplicates) + " executions beyond the first");
      if (all_done && !found.complete()) {
        ++tally.inconsistencies;
        problems.push_back(tenant.slug + ": every replica exited 0 but the tenant is not complete (" +
                           std::to_string(found.recorded) + " recorded)");
      }
    }
    // A documented failure (an invalid index, an in-doubt commit) is for the next run to finish.
    if (!all_done) {
      const auto next =
          chaos::finish_fleet(fleet_, cluster_.server(), {"all-tenants", "--tx-mode", plan.tx_mode()}, tally);
      problems.insert(problems.end(), next.begin(), next.end());
    }
    summary =
        std::to_string(terminated) + " backends terminated, " + std::to_string(restarted) + " restarts; " +
        (problems.empty() ? (documented_failure ? "consistent after a documented failure" : "consistent") : "PROBLEMS");
    return problems;
  }

 private:
  SecondCluster cluster_;
  support::TestFleet fleet_;
  std::unique_ptr<chaos::Watch> watch_;
};

}  // namespace

TEST_CASE("crash trials: three replicas through terminated backends and restarts apply each migration once",
          "[chaos][replicas]") {
  const auto& options = chaos::options();
  if (options.replica_rounds == 0) return;
  // A stream of its own, so that these rounds choose the same whether or not the kill trials ran.
  std::mt19937_64 random(options.seed ^ 0x9e3779b97f4a7c15ull);
  ReplicaTrials trials;
  for (int round = 1; round <= options.replica_rounds; ++round) {
    const auto plan = trials.plan(random);
    std::string summary;
    const auto problems = trials.run(plan, summary);
    std::cout << "replicas " << round << "/" << options.replica_rounds << ": " << plan.describe() << ": " << summary
              << std::endl;
    for (const auto& problem : problems) std::cout << "  " << problem << std::endl;
    INFO("round " << round << " (seed " << options.seed << "): " << plan.describe());
    CHECK(problems.empty());
  }
}
