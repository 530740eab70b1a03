// A fleet whose tenants fail for one reason reads as that reason once: the summary groups failed
// tenants by reason (fleet.cpp, the text and JSON reporters), and a list of missing files is
// shortened (plan.cpp).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "migrate/crypto/key.hpp"
#include "migrate/crypto/password_cipher.hpp"
#include "support/cluster.hpp"
#include "support/fleet.hpp"

using support::TestFleet;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

int count_of(const std::string& text, const std::string& part) {
  int count = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

// 50 tenants whose ledger names 30 files the folder does not have (a fleet migrated with knex's
// .js files), 3 whose database is gone (a reason naming each one's database), 2 whose password was
// encrypted under another key.
struct FailingFleet {
  FailingFleet() {
    fleet.write_simple_migrations(1, 1);
    for (int i = 1; i <= 50; ++i) {
      char slug[16];
      std::snprintf(slug, sizeof slug, "m-%02d", i);
      missing.push_back(slug);
      const auto tenant = fleet.add_tenant(slug);
      fleet.query(
          tenant,
          "CREATE TABLE knex_migrations (id serial PRIMARY KEY, name varchar(255), batch integer, "
          "migration_time timestamptz); CREATE TABLE knex_migrations_lock (index serial PRIMARY KEY, "
          "is_locked integer); INSERT INTO knex_migrations_lock (is_locked) VALUES (0); "
          "INSERT INTO knex_migrations (name, batch, migration_time) SELECT format('202401010000%s_legacy_%s.js', "
          "lpad(i::text, 2, '0'), i), 1, now() FROM generate_series(1, 30) i");
    }
    for (const char* slug : {"gone-1", "gone-2", "gone-3"}) {
      const auto tenant = fleet.add_tenant(slug);
      support::admin_exec("DROP DATABASE \"" + tenant.db + "\"");
    }
    const auto other_key = migrate::crypto::parse_key(std::string(32, 'k'));
    for (const char* slug : {"key-1", "key-2"})
      fleet.add_tenant(slug, "active", {}, migrate::crypto::encrypt_password("whatever", other_key));
  }

  TestFleet fleet;
  std::vector<std::string> missing;
};

const std::string missing_reason_start = "applied migration(s) missing from ";
const std::string missing_names =
    "20240101000001_legacy_1.js, 20240101000002_legacy_2.js, 20240101000003_legacy_3.js, 20240101000004_legacy_4.js, "
    "20240101000005_legacy_5.js and 25 more (knex's X.js rows need X.sql files: convert them, see Switching from knex "
    "scripts)";
const std::string wrong_key = "cannot decrypt db_password_encrypted: wrong key or corrupted value";

void check_json(const std::string& out, const FailingFleet& failing, const std::string& missing_reason) {
  nlohmann::json summary;
  int failed_events = 0;
  for (const auto& line : lines_of(out)) {
    const auto event = nlohmann::json::parse(line);
    if (event["event"] == "summary") summary = event;
    if (event["event"] == "tenant_failed" && event["tenant"].get<std::string>().rfind("m-", 0) == 0) {
      CHECK(event["reason"] == missing_reason);
      ++failed_events;
    }
  }
  CHECK(failed_events == 50);
  CHECK(summary["failures"].size() == 55);  // as before, one entry per tenant
  const auto& groups = summary["failure_groups"];
  REQUIRE(groups.size() == 3);
  CHECK(groups[0]["reason"] == missing_reason);
  CHECK(groups[0]["count"] == 50);
  CHECK(groups[0]["tenants"] == nlohmann::json(failing.missing));  // all 50, in slug order
  CHECK(groups[1]["count"] == 3);
  CHECK_THAT(groups[1]["reason"].get<std::string>(), Catch::Contains("database \"<db>\" does not exist"));
  CHECK(groups[1]["tenants"] == nlohmann::json::array({"gone-1", "gone-2", "gone-3"}));
  CHECK(groups[2]["reason"] == wrong_key);
  CHECK(groups[2]["count"] == 2);
  CHECK(groups[2]["tenants"] == nlohmann::json::array({"key-1", "key-2"}));
}

}  // namespace

// One fleet for text and JSON: 55 tenant databases are slow to make on a busy machine.
TEST_CASE(
    "failure groups: 55 failed tenants, 3 reasons, each said once with its count and the first tenants, in "
    "json all of them",
    "[integration][failure_groups]") {
  FailingFleet failing;
  const auto& fleet = failing.fleet;
  const auto missing_reason = missing_reason_start + fleet.migrations_dir().string() + ": " + missing_names;

  const auto result = fleet.migrate({"all-tenants", "--concurrency", "8"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK(result.err.empty());
  // Bounded: 55 one-line tenant lines and a summary of a few lines. Listing all 30 names in each
  // tenant's line and again in the summary made about 100 KB.
  CHECK(result.out.size() < 20 * 1024);

  // Each tenant's line while the run goes on: one line, the shortened list in it.
  const auto lines = lines_of(result.out);
  for (const auto& slug : failing.missing) {
    INFO(slug);
    CHECK(std::count(lines.begin(), lines.end(), slug + ": FAILED: " + missing_reason) == 1);
    CHECK(std::count_if(lines.begin(), lines.end(), [&](const auto& line) { return line.rfind(slug + ":", 0) == 0; }) ==
          1);
  }

  // The summary: each reason once, the largest group first, with its count and tenants.
  const auto summary_at = result.out.find("\nSummary: 55 tenants in ");
  REQUIRE(summary_at != std::string::npos);
  const auto summary = result.out.substr(summary_at);
  CHECK_THAT(summary, Catch::Contains(": 0 migrated, 0 up to date, 55 failed\n"));
  CHECK_THAT(summary, Catch::Contains("\nFailed tenants (55), 3 reasons:\n"
                                      "  50 with: " +
                                      missing_reason +
                                      "\n"
                                      "    m-01, m-02, m-03, m-04, m-05 and 45 more\n"
                                      "  3 with: cannot connect to "));
  // The database's name differs from tenant to tenant: said once, as <db>.
  const std::regex gone(
      R"(\n  3 with: cannot connect to <host>:<port>/<db>: [^\n]*database "<db>" does not exist\n    gone-1, gone-2, gone-3\n)");
  CHECK(std::regex_search(summary, gone));
  CHECK_THAT(summary, Catch::EndsWith("\n  2 with: " + wrong_key + "\n    key-1, key-2\n"));
  CHECK(count_of(summary, missing_reason_start) == 1);
  CHECK(count_of(summary, wrong_key) == 1);
  CHECK(count_of(summary, "does not exist") == 1);
  CHECK(summary.size() < 2048);

  // JSON keeps `failures` and adds `failure_groups` with every tenant.
  const auto json = fleet.migrate({"--log-format", "json", "all-tenants", "--concurrency", "8"});
  INFO(json.all());
  CHECK(json.exit_code == 1);
  check_json(json.out, failing, missing_reason);
}
