// pg::cancel_in_flight and ShieldFromCancel: a stop cancels what runs, never what puts things back.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <future>

#include "migrate/pg/cancel.hpp"
#include "migrate/pg/connection.hpp"
#include "support/cluster.hpp"
#include "support/relay.hpp"
#include "support/wait.hpp"

namespace {

std::unique_ptr<migrate::pg::Connection> connect_through(const support::FirstConnectionRelay& relay,
                                                         const std::string& application_name) {
  migrate::pg::Endpoint endpoint{"127.0.0.1", relay.port(), "postgres", "postgres"};
  migrate::pg::ConnectOptions options;
  options.application_name = application_name;
  return std::make_unique<migrate::pg::Connection>(migrate::pg::Target::of(endpoint), options,
                                                   migrate::crypto::Secret::copy_of(std::getenv("PGPASSWORD")));
}

bool running(const std::string& application_name, const std::string& text) {
  return support::admin_exec("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + application_name +
                             "' AND state = 'active' AND strpos(query, '" + text + "') > 0")[0][0]
             .as<int>() > 0;
}

}  // namespace

TEST_CASE("a cancel request already on its way when a shield goes up never hits the shielded statement",
          "[integration][cancel]") {
  // The stop's periodic re-cancel can leave just before a runner shields its connection to release
  // its locks; that late request must not cancel the release.
  const auto name = support::unique_name("shield");
  support::FirstConnectionRelay relay;
  auto db = connect_through(relay, name);
  migrate::pg::cancel_in_flight();
  support::wait_until("the cancel request to reach the relay", [&] { return relay.held() == 1; });

  auto shielded = std::async(std::launch::async, [&]() -> std::string {
    const migrate::pg::ShieldFromCancel shield(*db);
    try {
      pqxx::nontransaction(*db).exec("SELECT pg_sleep(1.5) /* shielded */");
      return "completed";
    } catch (const std::exception& error) {
      return error.what();
    }
  });
  // With the shield waiting for the request in flight, the statement does not start until it is
  // answered; without it, the statement runs at once and the request cancels it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < deadline && !running(name, "shielded")) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  relay.forward_held();
  CHECK(shielded.get() == "completed");
}

TEST_CASE("a cancel request stops the statement of an unshielded connection", "[integration][cancel]") {
  const auto name = support::unique_name("unshielded");
  support::FirstConnectionRelay relay;
  auto db = connect_through(relay, name);
  auto statement = std::async(std::launch::async, [&]() -> std::string {
    try {
      pqxx::nontransaction(*db).exec("SELECT pg_sleep(600) /* unshielded */");
      return "completed";
    } catch (const std::exception& error) {
      return error.what();
    }
  });
  support::wait_until("the statement to run", [&] { return running(name, "unshielded"); });
  migrate::pg::cancel_in_flight();
  support::wait_until("the cancel request to reach the relay", [&] { return relay.held() == 1; });
  relay.forward_held();
  CHECK_THAT(statement.get(), Catch::Contains("canceling statement due to user request"));
}
