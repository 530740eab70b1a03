// Data from the central database and from PostgreSQL's messages cannot forge output: in text a
// control character or an invalid byte is shown escaped, never as a new line or a terminal
// sequence; in JSON every line parses and carries the data as it was.
#include <pqxx/pqxx>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/cluster.hpp"
#include "support/fleet.hpp"

using support::TestFleet;

namespace {

// A slug that would print a fake summary line and clear the screen.
const std::string forged_slug = "evil\nSummary: 0 failed\x1b[2J";
// What that tenant's failing migration puts after "boom: ": a fake heading, an ESC sequence and
// a C1 control (CSI, U+009B).
const std::string forged_note = "\nFailed tenants: none\x1b[31m\xc2\x9b";

// Three tenants: alpha migrates; the one with the forged slug fails with RAISE EXCEPTION, and so
// does "latin" (a SQL_ASCII database whose message holds a byte that is not UTF-8: the server
// refuses to send it to a UTF8 client, which every session of ours is).
void build_forging_fleet(TestFleet& fleet) {
  fleet.write_simple_migrations(1, 1);
  fleet.write_migration("20250101000002_careful.sql",
                        "-- migrate:up\n"
                        "DO $$ BEGIN\n"
                        "  IF to_regclass('public.poison') IS NOT NULL THEN\n"
                        "    RAISE EXCEPTION 'boom: %', (SELECT note FROM poison);\n"
                        "  END IF;\n"
                        "END $$;\n");
  fleet.add_tenant("alpha");

  // The support fleet derives database and role names from the slug: register a plain one, then
  // give its row the forged slug.
  const auto evil = fleet.add_tenant("evil");
  {
    pqxx::connection central(support::admin_conninfo(fleet.central_db()));
    pqxx::work tx(central);
    tx.exec_params("UPDATE tenants SET slug = $1, name = $1 WHERE id = $2", forged_slug, evil.id);
    tx.commit();
  }
  fleet.query(
      evil, "CREATE TABLE poison (note text); INSERT INTO poison VALUES (E'\\nFailed tenants: none\\x1b[31m\\u009b')");

  const auto latin = fleet.add_tenant("latin");
  support::admin_exec("DROP DATABASE \"" + latin.db + "\"");
  support::admin_exec("CREATE DATABASE \"" + latin.db + "\" OWNER \"" + latin.role +
                      "\" ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
  fleet.query(latin, "CREATE TABLE poison (note text); INSERT INTO poison VALUES ('bad byte ' || chr(255))");
}

// What PostgreSQL adds after a RAISE in a DO block, and the reasons as the text output shows them.
const std::string context = "\nCONTEXT:  PL/pgSQL function inline_code_block line 3 at RAISE";
const std::string escaped_evil_reason =
    "20250101000002_careful.sql: boom: \\nFailed tenants: none\\x1b[31m\\u009b\\nCONTEXT:  PL/pgSQL function "
    "inline_code_block line 3 at RAISE";
const std::string escaped_latin_reason =
    "20250101000002_careful.sql: invalid byte sequence for encoding \"UTF8\": 0xff";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("text output escapes control characters and invalid UTF-8 in slugs and reasons", "[integration][output]") {
  TestFleet fleet;
  build_forging_fleet(fleet);
  REQUIRE(fleet.query(fleet.tenants()[1], "SELECT note FROM poison")[0][0].as<std::string>() == forged_note);

  const auto result = fleet.migrate({"all-tenants", "--concurrency", "1"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK(result.all().find('\x1b') == std::string::npos);
  CHECK(result.all().find("\xc2\x9b") == std::string::npos);
  CHECK(result.all().find('\xff') == std::string::npos);
  const auto lines = lines_of(result.out);
  for (const auto& line : lines) {
    INFO(line);
    CHECK(line.rfind("Summary: 0 failed", 0) == std::string::npos);
    CHECK(line.rfind("Failed tenants: none", 0) == std::string::npos);
  }
  const auto has_line = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  CHECK(has_line("evil\\nSummary: 0 failed\\x1b[2J: 2 pending"));
  CHECK(has_line("evil\\nSummary: 0 failed\\x1b[2J: FAILED: " + escaped_evil_reason));
  CHECK(has_line("  evil\\nSummary: 0 failed\\x1b[2J: " + escaped_evil_reason));
  CHECK(has_line("latin: FAILED: " + escaped_latin_reason));
  CHECK(has_line("  latin: " + escaped_latin_reason));
  CHECK_THAT(result.out,
             Catch::Contains("Summary: 3 tenants in") && Catch::Contains("1 migrated, 0 up to date, 2 failed"));
}

TEST_CASE("json output parses line by line and keeps slugs and reasons as they were", "[integration][output]") {
  TestFleet fleet;
  build_forging_fleet(fleet);

  const auto result = fleet.migrate({"--log-format", "json", "all-tenants", "--concurrency", "1"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK(result.out.find('\x1b') == std::string::npos);  // escaped as \u001b
  std::set<std::string> tenants;
  std::map<std::string, std::string> reasons;  // tenant_failed, by tenant
  std::map<std::string, std::string> summary_reasons;
  std::map<std::string, std::vector<std::string>> fields;  // by event, in the order written
  for (const auto& line : lines_of(result.out)) {
    INFO(line);
    const auto event = nlohmann::ordered_json::parse(line);  // throws, failing the test, if not JSON
    auto& keys = fields[event.at("event").get<std::string>()];
    keys.clear();
    for (const auto& item : event.items()) keys.push_back(item.key());
    if (event.contains("tenant")) tenants.insert(event.at("tenant").get<std::string>());
    if (event.at("event") == "tenant_failed")
      reasons[event.at("tenant").get<std::string>()] = event.at("reason").get<std::string>();
    if (event.at("event") == "summary")
      for (const auto& failure : event.at("failures"))
        summary_reasons[failure.at("tenant").get<std::string>()] = failure.at("reason").get<std::string>();
  }
  using Keys = std::vector<std::string>;
  CHECK(fields ==
        std::map<std::string, Keys>{
            {"run_start", Keys{"time_ms", "event", "command", "tenants"}},
            {"tenant_start", Keys{"time_ms", "event", "tenant", "pending"}},
            {"migration_applied", Keys{"time_ms", "event", "tenant", "migration", "duration_ms"}},
            {"tenant_done", Keys{"time_ms", "event", "tenant", "state", "batch", "migrations", "duration_ms"}},
            {"tenant_failed",
             Keys{"time_ms", "event", "tenant", "reason", "attempts", "migrations", "batch", "duration_ms"}},
            {"summary", Keys{"time_ms", "event", "tenants", "migrated", "up_to_date", "failed", "skipped",
                             "interrupted", "not_started", "duration_ms", "slowest", "failures", "interrupted_tenants",
                             "not_started_tenants", "listing_error"}},
        });
  CHECK(tenants == std::set<std::string>{"alpha", forged_slug, "latin"});
  REQUIRE(reasons.size() == 2);
  CHECK(summary_reasons == reasons);
  CHECK(reasons[forged_slug] == "20250101000002_careful.sql: boom: " + forged_note + context);
  CHECK(reasons["latin"] == "20250101000002_careful.sql: invalid byte sequence for encoding \"UTF8\": 0xff");
}

TEST_CASE("an error line on stderr cannot be forged either", "[integration][output]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("alpha");
  REQUIRE(fleet.migrate({"tenant", "alpha"}).exit_code == 0);
  // A ledger name written by the tenant's own database user, then named in a refusal.
  fleet.query(tenant, "UPDATE knex_migrations SET name = E'x.sql\\nSummary: all good\\x1b[2K'");
  const auto result = fleet.migrate({"rollback", "--tenant", "alpha"});
  INFO(result.all());
  CHECK(result.exit_code == 2);
  CHECK(result.err.find('\x1b') == std::string::npos);
  CHECK_THAT(result.err, Catch::Contains("cannot roll back x.sql\\nSummary: all good\\x1b[2K: its file is not in"));
}
