// pg::rethrow_as_error: libpqxx's errors, as libpqxx 6.4 throws them, become ours, and what a
// retry may cure is told apart from what it may not (README: "Transient faults ... are retried";
// "an in-doubt commit is never retried and is reported as check this tenant").
#include <pqxx/except>

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

#include "migrate/core/error.hpp"
#include "migrate/ledger/ledger_lock.hpp"
#include "migrate/pg/errors.hpp"

namespace {

struct Classified {
  std::string type;  // the migrate::Error subclass that came out
  std::string message;
  bool transient = false;
  bool in_doubt = false;
  int exit_status = -1;
};

Classified as_ours(const migrate::Error& error, const std::string& type) {
  return {type, error.what(), error.transient(), error.in_doubt(), error.exit_status()};
}

// What rethrow_as_error makes of `thrown` (thrown as its own static type, as libpqxx throws it).
template <typename Thrown>
Classified classify(const Thrown& thrown) {
  try {
    try {
      throw thrown;
    } catch (...) {
      migrate::pg::rethrow_as_error();
    }
  } catch (const migrate::InDoubtError& error) {
    return as_ours(error, "InDoubtError");
  } catch (const migrate::InterruptedError& error) {
    return as_ours(error, "InterruptedError");
  } catch (const migrate::InputError& error) {
    return as_ours(error, "InputError");
  } catch (const migrate::RunError& error) {
    return as_ours(error, "RunError");
  } catch (const migrate::Error& error) {
    return as_ours(error, "Error");
  }
  FAIL("rethrow_as_error returned");
  return {};
}

}  // namespace

TEST_CASE("rethrow_as_error: a lost connection is transient and keeps the words of libpq", "[pg][errors]") {
  const auto lost = classify(pqxx::broken_connection(
      "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n"));
  CHECK(lost.type == "RunError");
  CHECK(lost.transient);
  CHECK_FALSE(lost.in_doubt);
  CHECK(lost.exit_status == 1);
  CHECK(lost.message ==
        "connection lost: server closed the connection unexpectedly\n\tThis probably means the server terminated "
        "abnormally");
  // libpqxx 6.4 throws too_many_connections, a broken_connection, for SQLSTATE 53300.
  const auto crowded = classify(pqxx::too_many_connections("FATAL:  sorry, too many clients already\n"));
  CHECK(crowded.type == "RunError");
  CHECK(crowded.transient);
  CHECK(crowded.message == "connection lost: FATAL:  sorry, too many clients already");
}

TEST_CASE("rethrow_as_error: an in-doubt commit is never transient and says to check the tenant", "[pg][errors]") {
  const auto doubt = classify(pqxx::in_doubt_error(
      "WARNING: Connection lost while committing transaction ''. There is no way to tell whether the transaction "
      "succeeded or was aborted except to check manually."));
  CHECK(doubt.type == "InDoubtError");
  CHECK_FALSE(doubt.transient);
  CHECK(doubt.in_doubt);
  CHECK(doubt.exit_status == 1);
  CHECK(doubt.message ==
        "the connection broke while committing: the migrations may or may not have been applied; check this tenant "
        "with `migrate status --tenant`");
}

TEST_CASE(
    "rethrow_as_error: SQLSTATEs of connection loss, too many clients, shutdown, startup, serialization and "
    "deadlock are transient",
    "[pg][errors]") {
  const char* state =
      GENERATE("08000", "08001", "08003", "08004", "08006", "53300", "57P01", "57P02", "57P03", "40001", "40P01");
  INFO("SQLSTATE " << state);
  const auto classified = classify(pqxx::sql_error("ERROR:  something transient\n", "SELECT 1", state));
  CHECK(classified.type == "RunError");
  CHECK(classified.transient);
  CHECK_FALSE(classified.in_doubt);
  CHECK(classified.message == "something transient");
}

// libpqxx 6.4 throws 40001 and 40P01 as serialization_failure and deadlock_detected, which derive
// from transaction_rollback and not from sql_error (pqxx/except.hxx): this is what the runner meets.
TEST_CASE("rethrow_as_error: a serialization failure and a deadlock, as libpqxx 6.4 throws them, are transient",
          "[pg][errors]") {
  const auto serialization =
      classify(pqxx::serialization_failure("ERROR:  could not serialize access due to concurrent update\n"));
  CHECK(serialization.type == "RunError");
  CHECK(serialization.transient);
  CHECK(serialization.message == "could not serialize access due to concurrent update");
  const auto deadlock = classify(pqxx::deadlock_detected(
      "ERROR:  deadlock detected\nDETAIL:  Process 1 waits for ShareLock on transaction 2; blocked by process 3.\n"));
  CHECK(deadlock.type == "RunError");
  CHECK(deadlock.transient);
  CHECK(deadlock.message ==
        "deadlock detected\nDETAIL:  Process 1 waits for ShareLock on transaction 2; blocked by process 3.");
}

TEST_CASE("rethrow_as_error: the SQL error of a migration itself is not transient and reads as PostgreSQL wrote it",
          "[pg][errors]") {
  const auto missing = classify(pqxx::sql_error(
      "ERROR:  relation \"invoices\" does not exist\nLINE 1: SELECT * FROM invoices\n                      ^\n",
      "SELECT * FROM invoices", "42P01"));
  CHECK(missing.type == "RunError");
  CHECK_FALSE(missing.transient);
  CHECK_FALSE(missing.in_doubt);
  CHECK(missing.message == "relation \"invoices\" does not exist\nLINE 1: SELECT * FROM invoices");
  const auto unique = classify(pqxx::unique_violation(
      "ERROR:  duplicate key value violates unique constraint \"users_email_key\"\nDETAIL:  Key (email)=(a@b) "
      "already exists.\n",
      "INSERT", "23505"));
  CHECK_FALSE(unique.transient);
  // A statement cancelled while no stop was asked for (statement_timeout, pg_cancel_backend) is no interruption.
  const auto cancelled =
      classify(pqxx::sql_error("ERROR:  canceling statement due to user request\n", "SELECT pg_sleep(9)", "57014"));
  CHECK(cancelled.type == "RunError");
  CHECK_FALSE(cancelled.transient);
  CHECK(cancelled.message == "canceling statement due to user request");
}

TEST_CASE("rethrow_as_error: errors of ours pass unchanged, anything else becomes a RunError", "[pg][errors]") {
  const auto input = classify(migrate::InputError("bad input"));
  CHECK(input.type == "InputError");
  CHECK(input.exit_status == 2);
  CHECK(input.message == "bad input");
  const auto knex = classify(migrate::ledger::KnexLockHeld("knex holds it"));
  CHECK(knex.transient);
  CHECK(knex.message == "knex holds it");
  const auto busy = classify(migrate::ledger::BusyError("busy"));
  CHECK_FALSE(busy.transient);
  const auto other = classify(std::runtime_error("boom"));
  CHECK(other.type == "RunError");
  CHECK_FALSE(other.transient);
  CHECK(other.message == "boom");
}

TEST_CASE("a connection failure is transient when the words of libpq say a retry may help", "[pg][errors]") {
  const std::string at = "connection to server at \"127.0.0.1\", port 5432 failed: ";
  const std::string transient = GENERATE_COPY(
      at + "Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?",
      at + "FATAL:  the database system is starting up", at + "FATAL:  the database system is shutting down",
      at + "FATAL:  sorry, too many clients already", at + "FATAL:  too many connections for role \"acme\"",
      at + "FATAL:  the database system is in recovery mode",
      at + "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally",
      at + "timeout expired", at + "FATAL:  terminating connection due to administrator command");
  INFO(transient);
  CHECK(migrate::pg::is_transient_connect_message(transient));
}

TEST_CASE("a connection failure that a retry cannot cure is not transient", "[pg][errors]") {
  const std::string at = "connection to server at \"127.0.0.1\", port 5432 failed: ";
  const std::string permanent =
      GENERATE_COPY(at + "FATAL:  password authentication failed for user \"acme\"",
                    at + "FATAL:  database \"acme\" does not exist", at + "FATAL:  role \"acme\" does not exist",
                    at + "FATAL:  no pg_hba.conf entry for host \"10.0.0.1\", user "
                         "\"acme\", database \"acme\", no encryption");
  INFO(permanent);
  CHECK_FALSE(migrate::pg::is_transient_connect_message(permanent));
}

// PostgreSQL 14 and later refuse connections to a server in archive recovery (restored from a
// backup, a standby starting) with these words until it is consistent: a server starting up.
TEST_CASE("a server in recovery that is not yet accepting connections is transient", "[pg][errors]") {
  const std::string at = "connection to server at \"127.0.0.1\", port 5432 failed: ";
  CHECK(migrate::pg::is_transient_connect_message(
      at +
      "FATAL:  the database system is not yet accepting connections\nDETAIL:  Consistent recovery state has "
      "not been yet reached."));
}
