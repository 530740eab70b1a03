// What a run prints, as the README's "Output" section says: the live progress line on a terminal and
// a progress line every 5 s elsewhere, the slowest tenants, JSON events. Data from the central
// database and from PostgreSQL's messages cannot forge output: in text a control character or an
// invalid byte is shown escaped, never as a new line or a terminal sequence; in JSON every line
// parses and carries the data as it was.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "migrate/core/printable.hpp"
#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/seed.hpp"
#include "support/terminal.hpp"
#include "support/wait.hpp"

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
                             "interrupted", "not_started", "duration_ms", "slowest", "failures", "failure_groups",
                             "interrupted_tenants", "not_started_tenants", "listing_error"}},
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

namespace {

// A migration that waits while the test holds a lock on table "gate", where the tenant has one.
const std::string gated_migration =
    "-- migrate:up\n"
    "CREATE TABLE t1 (id int);\n"
    "DO $$ BEGIN IF to_regclass('public.gate') IS NOT NULL THEN PERFORM count(*) FROM gate; END IF; END $$;\n"
    "-- migrate:down\n"
    "DROP TABLE t1;\n";

// Holds an ACCESS EXCLUSIVE lock on a tenant's table "gate" (made here) until release().
class Gate {
 public:
  Gate(const TestFleet& fleet, const support::Tenant& tenant)
      : connection_(support::admin_conninfo(tenant.db)), tx_(connection_) {
    fleet.query(tenant, "CREATE TABLE gate (id int)");
    tx_.exec("LOCK TABLE gate IN ACCESS EXCLUSIVE MODE");
  }
  void release() { tx_.commit(); }

 private:
  pqxx::connection connection_;
  pqxx::work tx_;
};

std::map<std::string, std::string> fleet_env(const TestFleet& fleet) {
  return {{"DB_ENCRYPTION_KEY", fleet.key()}, {"CENTRAL_DATABASE_URL", fleet.central_url()}};
}

std::vector<nlohmann::ordered_json> json_lines(const std::string& text) {
  std::vector<nlohmann::ordered_json> events;
  for (const auto& line : lines_of(text)) events.push_back(nlohmann::ordered_json::parse(line));
  return events;
}

std::vector<std::string> keys_of(const nlohmann::ordered_json& event) {
  std::vector<std::string> keys;
  for (const auto& item : event.items()) keys.push_back(item.key());
  return keys;
}

// How the text output writes a duration: "340 ms", "2.5s" or "1m05s".
const std::string duration = R"((\d+ ms|\d+\.\ds|\d+m\d\ds))";

// A port on 127.0.0.1 that refuses connections (bound, not listening) until open(); from then on
// it forwards each connection to the test cluster, as a tenant server that comes up late.
class LatePort {
 public:
  LatePort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t size = sizeof address;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) == 0);
    port_ = ntohs(address.sin_port);
    target_.sin_family = AF_INET;
    target_.sin_port = htons(static_cast<std::uint16_t>(support::cluster_port()));
    REQUIRE(::inet_pton(AF_INET, support::cluster_host().c_str(), &target_.sin_addr) == 1);
  }
  ~LatePort() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    for (auto& pipe : pipes_) pipe.join();
    ::close(fd_);
  }
  LatePort(const LatePort&) = delete;
  LatePort& operator=(const LatePort&) = delete;

  int port() const { return port_; }
  void open() {
    REQUIRE(::listen(fd_, 16) == 0);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd ready{fd_, POLLIN, 0};
      if (::poll(&ready, 1, 50) <= 0) continue;
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) continue;
      const int server = ::socket(AF_INET, SOCK_STREAM, 0);
      if (::connect(server, reinterpret_cast<const sockaddr*>(&target_), sizeof target_) != 0) {
        ::close(server);
        ::close(client);
        continue;
      }
      pipes_.emplace_back([this, client, server] { forward(client, server); });
    }
  }
  void forward(int a, int b) {
    char buffer[16384];
    for (bool open = true; open && !stop_;) {
      pollfd ready[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (::poll(ready, 2, 50) <= 0) continue;
      for (int i = 0; i < 2 && open; ++i) {
        if (!ready[i].revents) continue;
        const auto got = ::read(ready[i].fd, buffer, sizeof buffer);
        open = got > 0;
        for (ssize_t sent = 0; open && sent < got;) {
          const auto put = ::send(ready[1 - i].fd, buffer + sent, static_cast<std::size_t>(got - sent), MSG_NOSIGNAL);
          open = put > 0;
          sent += put;
        }
      }
    }
    ::close(a);
    ::close(b);
  }

  int fd_;
  int port_ = 0;
  sockaddr_in target_{};
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> pipes_;
};

}  // namespace

TEST_CASE("output: on a terminal, a live progress line drawn with CR and ESC K, a line per tenant that changed",
          "[integration][output]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_gated.sql", gated_migration);
  fleet.add_tenant("alpha");
  const auto bravo = fleet.add_tenant("bravo");
  fleet.add_tenant("charlie");
  REQUIRE(fleet.migrate({"tenant", "charlie"}).exit_code == 0);  // nothing to do: counted, not listed
  Gate gate(fleet, bravo);

  support::Terminal terminal({MIGRATE_BINARY, "--knexfile", (fleet.dir() / "knexfile.yaml").string(), "--env", "test",
                              "all-tenants", "--concurrency", "3"},
                             fleet_env(fleet));
  support::wait_for_query(bravo.db, "public.gate");
  terminal.wait_for_text("\r\x1b[Kprogress: 2/3 done, 0 failed, ");
  gate.release();
  const int status = terminal.wait();
  const auto shown = terminal.shown();
  fleet.require_no_secret(shown);
  INFO(shown);
  CHECK(status == 0);

  // Every drawing of the live line, as it was drawn.
  const std::regex drawn("\r\x1b\\[K(progress: [^\r\n]*)");
  const std::regex progress(R"(progress: [0-3]/3 done, 0 failed, \d+\.\d tenants/s, elapsed )" + duration + ", ETA (" +
                            duration + R"(|\?))");
  int drawings = 0;
  for (auto it = std::sregex_iterator(shown.begin(), shown.end(), drawn); it != std::sregex_iterator(); ++it) {
    INFO((*it)[1].str());
    CHECK(std::regex_match((*it)[1].str(), progress));
    ++drawings;
  }
  CHECK(drawings >= 2);

  // What the screen holds at the end: the tenants' lines and the summary, the live line gone.
  const auto screen = support::screen_lines(shown);
  const std::vector<std::string> forms = {
      "all-tenants: 3 tenants",
      "(alpha|bravo): 1 pending",
      "(alpha|bravo):   20250101000001_gated\\.sql \\(" + duration + "\\)",
      "(alpha|bravo): done, batch 1, 1 migration in " + duration,
      "Summary: 3 tenants in " + duration + ": 2 migrated, 1 up to date, 0 failed",
      "Slowest: .*",
  };
  for (const auto& line : screen) {
    INFO(line);
    CHECK(std::any_of(forms.begin(), forms.end(),
                      [&](const auto& form) { return std::regex_match(line, std::regex(form)); }));
  }
  REQUIRE(screen.size() == 9);  // the heading, three lines for each of alpha and bravo, the summary's two
  CHECK(screen.front() == "all-tenants: 3 tenants");
  CHECK(std::count(screen.begin(), screen.end(), "alpha: 1 pending") == 1);
  CHECK(std::count(screen.begin(), screen.end(), "bravo: 1 pending") == 1);
  CHECK(std::regex_match(screen.at(7), std::regex("Summary: .*")));
}

TEST_CASE("output: not on a terminal, a progress line every 5 seconds and no terminal sequences",
          "[integration][output]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_gated.sql", gated_migration);
  fleet.add_tenant("alpha");
  const auto bravo = fleet.add_tenant("bravo");
  Gate gate(fleet, bravo);
  const auto start = std::chrono::steady_clock::now();
  auto run = fleet.spawn({"all-tenants", "--concurrency", "2"});
  // A line every 5 s of the run's own clock: the first at 5 s, the next 5 s later. A busy machine
  // may wake the reporter late, never early.
  const std::regex progress(R"(progress: 1/2 done, 0 failed, \d+\.\d tenants/s, elapsed (\d+)\.(\d)s, ETA )" +
                            duration);
  std::vector<std::string> lines;
  support::wait_until("two progress lines", [&] {
    lines.clear();
    for (const auto& text : lines_of(run.output_so_far()))
      if (text.rfind("progress: ", 0) == 0) lines.push_back(text);
    return lines.size() >= 2;
  });
  const double seen = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  gate.release();
  const auto result = run.wait();
  INFO(result.all());
  CHECK(result.exit_code == 0);
  std::vector<double> elapsed;
  for (const auto& text : lines) {
    std::smatch match;
    CHECK(std::regex_match(text, match, progress));
    if (!match.empty()) elapsed.push_back(std::stod(match[1].str() + "." + match[2].str()));
  }
  REQUIRE(elapsed.size() >= 2);
  CHECK(elapsed[0] >= 5.0);
  CHECK(elapsed[1] - elapsed[0] >= 4.9);
  CHECK(seen >= 9.5);
  CHECK(result.out.find('\r') == std::string::npos);
  CHECK(result.out.find('\x1b') == std::string::npos);
  CHECK_THAT(result.out, Catch::Contains("\nSummary: 2 tenants in "));
}

TEST_CASE("output: the summary lists the slowest tenants, slowest first", "[integration][output]") {
  TestFleet fleet;
  // One tenant is slow on purpose; which one ends up slowest is read from the run itself.
  const auto maybe_slow = [&](int number) {
    const auto n = std::to_string(number);
    fleet.write_migration("2025010100000" + n + "_maybe_slow_" + n + ".sql",
                          "-- migrate:up\nCREATE TABLE t" + n +
                              " (id int);\n"
                              "DO $$ BEGIN IF to_regclass('public.slow') IS NOT NULL THEN PERFORM pg_sleep(0.3); END "
                              "IF; END $$;\n");
  };
  maybe_slow(1);
  for (const auto* slug : {"alpha", "bravo", "charlie", "delta", "echo"}) fleet.add_tenant(slug);
  fleet.query(fleet.tenants()[2], "CREATE TABLE slow (id int)");

  // Text: each entry of the Slowest line is a tenant with the time its own line gave.
  const auto text = fleet.migrate({"all-tenants", "--concurrency", "2"});
  INFO(text.all());
  CHECK(text.exit_code == 0);
  std::set<std::string> done;  // "slug (time)"
  std::string slowest;
  const std::regex done_line("([a-z]+): done, batch 1, 1 migration in (.+)");
  for (const auto& line : lines_of(text.out)) {
    std::smatch match;
    if (std::regex_match(line, match, done_line)) done.insert(match[1].str() + " (" + match[2].str() + ")");
    if (line.rfind("Slowest: ", 0) == 0) slowest = line.substr(9);
  }
  REQUIRE(done.size() == 5);
  REQUIRE_FALSE(slowest.empty());
  std::vector<std::string> listed;
  for (std::size_t at = 0; at < slowest.size();) {
    const auto end = slowest.find("), ", at);
    listed.push_back(slowest.substr(at, end == std::string::npos ? std::string::npos : end + 1 - at));
    at = end == std::string::npos ? slowest.size() : end + 3;
  }
  CHECK(listed.size() >= 3);
  for (const auto& entry : listed) {
    INFO(entry);
    CHECK(done.count(entry) == 1);
  }

  // JSON: the order, to the millisecond.
  maybe_slow(2);
  const auto json = fleet.migrate({"--log-format", "json", "all-tenants", "--concurrency", "2"});
  INFO(json.all());
  CHECK(json.exit_code == 0);
  std::map<std::string, long> took;
  for (const auto& event : json_lines(json.out))
    if (event.at("event") == "tenant_done") took[event.at("tenant")] = event.at("duration_ms");
  REQUIRE(took.size() == 5);
  const auto summary = json_lines(json.out).back();
  REQUIRE(summary.at("event") == "summary");
  REQUIRE(summary.at("slowest").size() >= 3);
  long previous = std::numeric_limits<long>::max();
  std::set<std::string> named;
  for (const auto& entry : summary.at("slowest")) {
    INFO(entry.dump());
    CHECK(keys_of(entry) == std::vector<std::string>{"tenant", "duration_ms"});
    const std::string tenant = entry.at("tenant");
    CHECK(entry.at("duration_ms") == took.at(tenant));
    CHECK(took.at(tenant) <= previous);  // slowest first
    previous = took.at(tenant);
    named.insert(tenant);
  }
  for (const auto& [tenant, ms] : took)
    if (!named.count(tenant)) CHECK(ms <= previous);  // none left out is slower than one listed
}

TEST_CASE("output: json, a migration applied out of order is a warning event naming it", "[integration][output]") {
  TestFleet fleet;
  fleet.write_simple_migrations(2, 1);
  const auto tenant = fleet.add_tenant("alpha");
  REQUIRE(fleet.migrate({"tenant", "alpha"}).exit_code == 0);
  fleet.write_simple_migrations(1, 1);  // older than the newest applied
  const auto result = fleet.migrate({"--log-format", "json", "all-tenants"});
  INFO(result.all());
  CHECK(result.exit_code == 0);
  std::vector<nlohmann::ordered_json> warnings;
  for (const auto& event : json_lines(result.out))
    if (event.at("event") == "warning") warnings.push_back(event);
  REQUIRE(warnings.size() == 1);
  CHECK(keys_of(warnings[0]) == std::vector<std::string>{"time_ms", "event", "tenant", "message"});
  CHECK(warnings[0].at("tenant") == "alpha");
  CHECK(warnings[0].at("message") ==
        "20250101000001_create_t1.sql is older than the newest applied migration: applying it out of order");
  CHECK(fleet.ledger(tenant) == std::vector<std::pair<std::string, int>>{{"20250101000002_create_t2.sql", 1},
                                                                         {"20250101000001_create_t1.sql", 2}});
}

TEST_CASE("output: json, a retry event for each failed attempt of a tenant whose port refuses at first",
          "[integration][output]") {
  LatePort late;
  TestFleet fleet("retry:\n  attempts: 30\n  initialDelayMs: 100\n  maxDelayMs: 400\n");
  fleet.write_simple_migrations(1, 1);
  const auto tenant = fleet.add_tenant("late", "active", late.port());
  auto run = fleet.spawn({"--log-format", "json", "all-tenants"});
  support::wait_until("a retry event",
                      [&] { return run.output_so_far().find(R"("event":"retry")") != std::string::npos; });
  late.open();
  const auto result = run.wait();
  fleet.require_no_secret(result.all());
  INFO(result.all());
  CHECK(result.exit_code == 0);
  int retries = 0;
  std::string state;
  for (const auto& event : json_lines(result.out)) {
    if (event.at("event") == "tenant_done") state = event.at("state");
    if (event.at("event") != "retry") continue;
    ++retries;
    INFO(event.dump());
    CHECK(keys_of(event) == std::vector<std::string>{"time_ms", "event", "tenant", "attempt", "delay_ms", "reason"});
    CHECK(event.at("tenant") == "late");
    CHECK(event.at("attempt") == retries);
    CHECK(event.at("delay_ms").get<int>() >= 50);
    CHECK(event.at("delay_ms").get<int>() <= 400);
    const auto port = std::to_string(late.port());
    CHECK(event.at("reason") == "cannot connect to 127.0.0.1:" + port + "/" + tenant.db +
                                    ": connection to server at \"127.0.0.1\", port " + port +
                                    " failed: Connection refused\n\tIs the server running on that host and accepting "
                                    "TCP/IP connections?");
  }
  CHECK(retries >= 1);
  CHECK(state == "migrated");
  CHECK(fleet.ledger(tenant).size() == 1);
}

TEST_CASE("output: json, a reason with quotes, backslashes and newlines parses back to exactly the message",
          "[integration][output]") {
  const auto seed = support::test_seed();
  INFO(support::seed_note(seed));
  std::mt19937_64 random(seed);
  // Line breaks come between two letters: the reason drops a CR at the end of a line and lines
  // that are blank, as it drops the caret line under LINE n (see tests/README.md).
  const std::vector<std::string> alphabet = {"a",
                                             "Z",
                                             "7",
                                             " ",
                                             "\"",
                                             "\\",
                                             "a\nb",
                                             "\r",
                                             "\t",
                                             "'",
                                             "{",
                                             "}",
                                             "[",
                                             "]",
                                             ":",
                                             ",",
                                             "/",
                                             "%",
                                             "\xc3\xa9",
                                             "\xe2\x80\xa8",
                                             "\xf0\x9f\x94\x91",
                                             "\x01",
                                             "\x1b",
                                             "\x7f"};
  std::string note = "she said \"stop\"\nthen \\ left, 'quoted' {\"json\": [1]}\n";
  for (int i = 0; i < 40; ++i) note += alphabet[random() % alphabet.size()];
  note += ".";

  TestFleet fleet;
  fleet.write_migration("20250101000001_raise.sql",
                        "-- migrate:up\nDO $$ BEGIN RAISE EXCEPTION '%', (SELECT note FROM note); END $$;\n");
  const auto tenant = fleet.add_tenant("alpha");
  fleet.query(tenant, "CREATE TABLE note (note text)");
  {
    pqxx::connection db(support::admin_conninfo(tenant.db));
    pqxx::work tx(db);
    tx.exec_params("INSERT INTO note VALUES ($1)", note);
    tx.commit();
  }
  const std::string reason =
      "20250101000001_raise.sql: " + note + "\nCONTEXT:  PL/pgSQL function inline_code_block line 1 at RAISE";

  const auto json = fleet.migrate({"--log-format", "json", "all-tenants"});
  INFO(json.all());
  CHECK(json.exit_code == 1);
  std::vector<std::string> reasons;
  for (const auto& event : json_lines(json.out)) {
    if (event.at("event") == "tenant_failed") reasons.push_back(event.at("reason"));
    if (event.at("event") == "summary") {
      for (const auto& failure : event.at("failures")) reasons.push_back(failure.at("reason"));
      for (const auto& group : event.at("failure_groups")) reasons.push_back(group.at("reason"));
    }
  }
  CHECK(reasons == std::vector<std::string>{reason, reason, reason});

  // In text, the same reason on one line, escaped.
  const auto text = fleet.migrate({"all-tenants"});
  const auto lines = lines_of(text.out);
  CHECK(std::count(lines.begin(), lines.end(), "alpha: FAILED: " + migrate::printable(reason)) == 1);
  CHECK(std::count(lines.begin(), lines.end(), "Failed tenants (1): alpha: " + migrate::printable(reason)) == 1);
}
