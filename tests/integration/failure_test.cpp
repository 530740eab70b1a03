#include <catch2/catch.hpp>

#include "support/cluster.hpp"
#include "support/fleet.hpp"

using support::TestFleet;

namespace {

// Three migrations; the second fails on tenants that have a table named "poison".
void write_poisonable_migrations(TestFleet& fleet) {
  fleet.write_simple_migrations(1, 1);
  fleet.write_migration("20250101000002_careful.sql",
                        "-- migrate:up\n"
                        "CREATE TABLE t2 (id int);\n"
                        "DO $$ BEGIN\n"
                        "  IF to_regclass('public.poison') IS NOT NULL THEN\n"
                        "    RAISE EXCEPTION 'poisoned tenant';\n"
                        "  END IF;\n"
                        "END $$;\n"
                        "-- migrate:down\nDROP TABLE t2;\n");
  fleet.write_simple_migrations(3, 1);
}

}  // namespace

TEST_CASE("a failing migration leaves its tenant exactly where it was, the others are migrated",
          "[integration][failure]") {
  TestFleet fleet;
  write_poisonable_migrations(fleet);
  const auto good1 = fleet.add_tenant("alpha");
  const auto bad = fleet.add_tenant("bravo");
  const auto good2 = fleet.add_tenant("charlie");
  fleet.query(bad, "CREATE TABLE poison (id int)");

  const auto result = fleet.migrate({"all-tenants"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out, Catch::Contains("2 migrated, 0 up to date, 1 failed"));
  CHECK_THAT(result.out, Catch::Contains("bravo: 20250101000002_careful.sql") && Catch::Contains("poisoned tenant"));
  CHECK_THAT(result.out, Catch::Contains("\nFailed tenants (1): bravo: 20250101000002_careful.sql: poisoned tenant"));
  for (const auto& tenant : {good1, good2}) CHECK(fleet.ledger(tenant).size() == 3);
  // Default mode: none of this run's migrations, in the catalog or the ledger.
  CHECK_FALSE(fleet.table_exists(bad, "t1"));
  CHECK_FALSE(fleet.table_exists(bad, "t2"));
  CHECK_FALSE(fleet.table_exists(bad, "knex_migrations"));
}

TEST_CASE("with --tx-mode per-migration a failing tenant stops at its last good migration", "[integration][failure]") {
  TestFleet fleet;
  write_poisonable_migrations(fleet);
  const auto good = fleet.add_tenant("alpha");
  const auto bad = fleet.add_tenant("bravo");
  fleet.query(bad, "CREATE TABLE poison (id int)");

  const auto result = fleet.migrate({"all-tenants", "--tx-mode", "per-migration"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out, Catch::Contains("bravo") && Catch::Contains("20250101000002_careful.sql") &&
                             Catch::Contains("poisoned tenant"));
  CHECK(fleet.ledger(good).size() == 3);
  CHECK(fleet.ledger(bad) == std::vector<std::pair<std::string, int>>{{"20250101000001_create_t1.sql", 1}});
  CHECK(fleet.table_exists(bad, "t1"));
  CHECK_FALSE(fleet.table_exists(bad, "t2"));
  CHECK(fleet.lock_value(bad) == 0);
}

TEST_CASE("a SQL error names the file, the line and the message of PostgreSQL", "[integration][failure]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_typo.sql",
                        "-- migrate:up\nCREATE TABLE ok (id int);\nCREAT TABLE oops (id int);\n");
  fleet.add_tenant("acme-corp");
  const auto result = fleet.migrate({"tenant", "acme-corp"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out,
             Catch::Contains("acme-corp: FAILED: 20250101000001_typo.sql:3: syntax error at or near \"CREAT\""));
  CHECK_THAT(result.out, !Catch::Contains("retrying"));  // a SQL error is never retried
}

TEST_CASE("a SQL error in a transaction:false section names the line of the failing statement",
          "[integration][failure]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_items.sql",
                        "-- migrate:up transaction:false\n"                         // 1
                        "CREATE TABLE items (id int, sku text);\n"                  // 2
                        "\n"                                                        // 3
                        "-- the index the search page needs\n"                      // 4
                        "CREATE INDEX CONCURRENTLY IF NOT EXISTS items_sku\n"       // 5
                        "  ON items (sku);\n"                                       // 6
                        "CREATE INDEX CONCURRENTLY IF NOT EXISTS items_positive\n"  // 7
                        "  ON items (id) WHER id > 0;\n"                            // 8
                        "-- migrate:down transaction:false\nDROP TABLE items;\n");
  const auto tenant = fleet.add_tenant("acme-corp");
  const auto result = fleet.migrate({"tenant", "acme-corp"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out,
             Catch::Contains("acme-corp: FAILED: 20250101000001_items.sql:8: syntax error at or near \"WHER\""));
  // Outside a transaction, the statements before the failing one stay; the migration is not recorded.
  CHECK(fleet.query(tenant, "SELECT count(*) FROM pg_indexes WHERE indexname = 'items_sku'")[0][0].as<int>() == 1);
  CHECK(fleet.ledger(tenant).empty());
}

TEST_CASE("an error inside a DO block of a transaction:false section names the first line of the statement",
          "[integration][failure]") {
  TestFleet fleet;
  fleet.write_migration("20250101000001_backfill.sql",
                        "-- migrate:up transaction:false\n"
                        "CREATE TABLE items (id int);\n"
                        "DO $$\n"  // 3
                        "BEGIN\n"
                        "  PERFORM id,\n"
                        "    nosuchcol FROM items;\n"  // PostgreSQL's LINE 2: of its own query, not of the file
                        "END $$;\n");
  fleet.add_tenant("acme-corp");
  const auto result = fleet.migrate({"tenant", "acme-corp"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out,
             Catch::Contains("acme-corp: FAILED: 20250101000001_backfill.sql:3: column \"nosuchcol\" does not exist"));
}

TEST_CASE("a wrong ciphertext and a closed port fail their tenants alone, with clear reasons",
          "[integration][failure]") {
  TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto good = fleet.add_tenant("alpha");
  fleet.add_tenant("bravo", "active", {}, "00112233445566778899aabbccddeeff:00112233445566778899aabbccddeeff");
  fleet.add_tenant("charlie", "active", support::free_port());
  fleet.add_tenant("delta", "active", {}, "not-even-hex");

  const auto result = fleet.migrate({"all-tenants"});
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out, Catch::Contains("1 migrated, 0 up to date, 3 failed"));
  CHECK_THAT(result.out, Catch::Contains("bravo: cannot decrypt db_password_encrypted: wrong key or corrupted value"));
  CHECK_THAT(
      result.out,
      Catch::Contains(
          "delta: cannot decrypt db_password_encrypted: the encrypted password has no ':' between IV and ciphertext"));
  CHECK_THAT(result.out,
             Catch::Contains("charlie: cannot connect to 127.0.0.1:") && Catch::Contains("Connection refused"));
  CHECK_THAT(result.out, Catch::Contains("gave up after 2 attempts"));
  CHECK(fleet.ledger(good).size() == 1);
}

TEST_CASE("an invalid index left by a failed CREATE INDEX CONCURRENTLY fails its migration until it is dropped",
          "[integration][failure]") {
  TestFleet fleet;
  const auto tenant = fleet.add_tenant("acme-corp");
  fleet.query(tenant,
              "CREATE TABLE users (id int, email text);"
              "INSERT INTO users VALUES (1, 'a@example.com'), (2, 'a@example.com'), (3, 'b@example.com')");
  fleet.write_migration("20250101000001_unique_email.sql",
                        "-- migrate:up transaction:false\n"                                 // 1
                        "-- one account per address\n"                                      // 2
                        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS Users_Email_Key\n"  // 3
                        "  ON users (email);\n"                                             // 4
                        "-- migrate:down transaction:false\n"
                        "DROP INDEX CONCURRENTLY IF EXISTS users_email_key;\n");
  const std::string advice =
      "invalid index \"public\".\"users_email_key\" (a failed CREATE INDEX CONCURRENTLY leaves one, and IF NOT "
      "EXISTS then skips it): run DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"users_email_key\"; then run again";
  const auto invalid = [&] {
    return fleet
        .query(tenant,
               "SELECT count(*) FROM pg_index WHERE NOT indisvalid "
               "AND indexrelid = to_regclass('public.users_email_key')")[0][0]
        .as<int>();
  };

  const auto first = fleet.migrate({"tenant", "acme-corp"});
  INFO(first.all());
  CHECK(first.exit_code == 1);
  CHECK_THAT(first.out, Catch::Contains("acme-corp: FAILED: 20250101000001_unique_email.sql:3: could not create "
                                        "unique index \"users_email_key\"\\n"
                                        "DETAIL:  Key (email)=(a@example.com) is duplicated.\\n" +
                                        advice));
  CHECK(invalid() == 1);
  CHECK(fleet.ledger(tenant).empty());

  // IF NOT EXISTS now skips the statement: the section succeeds, but the index is still broken.
  const auto second = fleet.migrate({"tenant", "acme-corp"});
  INFO(second.all());
  CHECK(second.exit_code == 1);
  CHECK_THAT(second.out, Catch::Contains("acme-corp: FAILED: 20250101000001_unique_email.sql:1: " + advice));
  CHECK(fleet.ledger(tenant).empty());

  fleet.query(tenant, "DROP INDEX users_email_key; DELETE FROM users WHERE id = 2");
  const auto third = fleet.migrate({"tenant", "acme-corp"});
  INFO(third.all());
  CHECK(third.exit_code == 0);
  CHECK(fleet.ledger(tenant) == std::vector<std::pair<std::string, int>>{{"20250101000001_unique_email.sql", 1}});
  CHECK(fleet.query(tenant, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_email_key'::regclass")[0][0]
            .as<bool>());
}

TEST_CASE("a transaction:false down section that leaves an invalid index fails the rollback, keeping its row",
          "[integration][failure]") {
  TestFleet fleet;
  const auto tenant = fleet.add_tenant("acme-corp");
  fleet.query(tenant, "CREATE TABLE users (id int, email text); INSERT INTO users VALUES (1, 'a@x'), (2, 'a@x')");
  fleet.write_migration("20250101000001_email_index.sql",
                        "-- migrate:up transaction:false\n"
                        "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email ON users (email);\n"
                        "-- migrate:down transaction:false\n"                                                   // 3
                        "DROP INDEX CONCURRENTLY IF EXISTS users_email;\n"                                      // 4
                        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON users (email);\n");  // 5
  REQUIRE(fleet.migrate({"tenant", "acme-corp"}).exit_code == 0);

  const auto rollback = fleet.migrate({"rollback", "--tenant", "acme-corp"});
  INFO(rollback.all());
  CHECK(rollback.exit_code == 1);
  CHECK_THAT(
      rollback.all(),
      Catch::Contains("20250101000001_email_index.sql:5: could not create unique index \"users_email_key\"\\n"
                      "DETAIL:  Key (email)=(a@x) is duplicated.\\n"
                      "invalid index \"public\".\"users_email_key\"") &&
          Catch::Contains("run DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"users_email_key\"; then run again"));
  CHECK(fleet.ledger(tenant) == std::vector<std::pair<std::string, int>>{{"20250101000001_email_index.sql", 1}});

  // IF NOT EXISTS now skips the failing statement: the row still stays.
  const auto again = fleet.migrate({"rollback", "--tenant", "acme-corp"});
  INFO(again.all());
  CHECK(again.exit_code == 1);
  CHECK_THAT(again.all(),
             Catch::Contains("20250101000001_email_index.sql:3: invalid index \"public\".\"users_email_key\""));
  CHECK(fleet.ledger(tenant) == std::vector<std::pair<std::string, int>>{{"20250101000001_email_index.sql", 1}});
}
