// Data from the central database and from PostgreSQL's messages cannot forge output: in text a
// control character or an invalid byte is shown escaped, never as a new line or a terminal
// sequence; in JSON every line parses and carries the data as it was.
#include <pqxx/pqxx>

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

// Three tenants: alpha migrates; the one with the forged slug and "latin" (a SQL_ASCII database,
// so PostgreSQL's message can carry a byte that is not UTF-8) fail with RAISE EXCEPTION.
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
  for (const auto& line : lines_of(result.out)) {
    INFO(line);
    CHECK(line.rfind("Summary: 0 failed", 0) == std::string::npos);
    CHECK(line.rfind("Failed tenants: none", 0) == std::string::npos);
  }
  CHECK_THAT(result.out, Catch::Contains("evil\\nSummary: 0 failed\\x1b[2J: 2 pending"));
  CHECK_THAT(result.out, Catch::Contains("evil\\nSummary: 0 failed\\x1b[2J: FAILED: 20250101000002_careful.sql:"));
  CHECK_THAT(result.out, Catch::Contains("boom: \\nFailed tenants: none\\x1b[31m\\u009b"));
  CHECK_THAT(result.out, Catch::Contains("latin: FAILED: 20250101000002_careful.sql:"));
  CHECK_THAT(result.out, Catch::Contains("boom: bad byte \\xff"));
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
  for (const auto& line : lines_of(result.out)) {
    INFO(line);
    const auto event = nlohmann::json::parse(line);  // throws, failing the test, if not JSON
    if (event.contains("tenant")) tenants.insert(event.at("tenant").get<std::string>());
    if (event.at("event") == "tenant_failed")
      reasons[event.at("tenant").get<std::string>()] = event.at("reason").get<std::string>();
    if (event.at("event") == "summary")
      for (const auto& failure : event.at("failures"))
        summary_reasons[failure.at("tenant").get<std::string>()] = failure.at("reason").get<std::string>();
  }
  CHECK(tenants == std::set<std::string>{"alpha", forged_slug, "latin"});
  REQUIRE(reasons.size() == 2);
  CHECK(summary_reasons == reasons);
  CHECK_THAT(reasons[forged_slug],
             Catch::StartsWith("20250101000002_careful.sql:") && Catch::Contains("boom: " + forged_note));
  // The byte PostgreSQL sent as it was (0xff) is not UTF-8: JSON carries U+FFFD in its place.
  CHECK_THAT(reasons["latin"],
             Catch::StartsWith("20250101000002_careful.sql:") && Catch::Contains("boom: bad byte \xef\xbf\xbd"));
}
