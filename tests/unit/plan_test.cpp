#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "migrate/core/error.hpp"
#include "migrate/runner/plan.hpp"

using namespace migrate;
using namespace migrate::runner;
namespace fs = std::filesystem;

namespace {

migrations::MigrationSet three_files(bool second_has_down = true) {
  const auto dir =
      fs::temp_directory_path() / ("migrate-plan-" + std::to_string(::getpid()) + (second_has_down ? "a" : "b"));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "20250101000000_one.sql") << "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n";
  std::ofstream(dir / "20250102000000_two.sql") << "-- migrate:up\nSELECT 2;\n"
                                                << (second_has_down ? "-- migrate:down\nSELECT 2;\n" : "");
  std::ofstream(dir / "20250103000000_three.sql") << "-- migrate:up\nSELECT 3;\n-- migrate:down\nSELECT 3;\n";
  return migrations::MigrationSet::load(dir);
}

ledger::AppliedMigration row(int id, const std::string& name, int batch) {
  return {id, name, batch, "t"};
}

}  // namespace

TEST_CASE("pending migrations are the files not in the ledger, batch is the largest plus 1", "[plan]") {
  const auto set = three_files();
  const auto plan = plan_up(set, {row(1, "20250101000000_one.sql", 1), row(2, "20250102000000_two.sql", 2)});
  REQUIRE(plan.pending.size() == 1);
  CHECK(plan.pending[0]->name == "20250103000000_three.sql");
  CHECK(plan.next_batch == 3);
  CHECK(plan.out_of_order.empty());
  CHECK(plan_up(set, {}).next_batch == 1);
}

TEST_CASE("a pending migration older than the newest applied is out of order", "[plan]") {
  const auto plan =
      plan_up(three_files(), {row(1, "20250101000000_one.sql", 1), row(2, "20250103000000_three.sql", 1)});
  REQUIRE(plan.pending.size() == 1);
  CHECK(plan.out_of_order == std::vector<std::string>{"20250102000000_two.sql"});
}

TEST_CASE("an applied migration whose file vanished is an error naming it", "[plan]") {
  CHECK_THROWS_AS(plan_up(three_files(), {row(1, "20240101000000_gone.sql", 1)}), RunError);
  CHECK_THROWS_WITH(plan_up(three_files(), {row(1, "20240101000000_gone.sql", 1)}),
                    Catch::Contains("20240101000000_gone.sql"));
}

TEST_CASE("rollback takes the last batch newest first, or every batch", "[plan]") {
  const auto set = three_files();
  const std::vector<ledger::AppliedMigration> applied = {
      row(1, "20250101000000_one.sql", 1), row(2, "20250102000000_two.sql", 2), row(3, "20250103000000_three.sql", 2)};
  const auto last = plan_rollback(set, applied, RollbackSelection::last());
  REQUIRE(last.size() == 2);
  CHECK(last[0].name == "20250103000000_three.sql");
  CHECK(last[1].name == "20250102000000_two.sql");
  CHECK(plan_rollback(set, applied, RollbackSelection::every()).size() == 3);
}

TEST_CASE("rollback is refused when a migration has no down section or no file", "[plan]") {
  const auto set = three_files(false);
  CHECK_THROWS_WITH(plan_rollback(set, {row(1, "20250102000000_two.sql", 1)}, RollbackSelection::last()),
                    Catch::Contains("has no down section; nothing was rolled back"));
  CHECK_THROWS_WITH(plan_rollback(set, {row(1, "20240101000000_gone.sql", 1)}, RollbackSelection::last()),
                    Catch::Contains("its file is not in"));
}

// Fleets migrated by knex scripts record X.js; X.sql is the same migration once converted.
TEST_CASE("a ledger row recorded by knex as .js, .ts, .cjs or .mjs counts as its .sql file", "[plan]") {
  const auto set = three_files();
  const auto plan = plan_up(set, {row(1, "20250101000000_one.js", 1), row(2, "20250102000000_two.ts", 1),
                                  row(3, "20250103000000_three.mjs", 2)});
  CHECK(plan.pending.empty());
  CHECK(plan.next_batch == 3);
  REQUIRE(set.find("20250102000000_two.cjs"));
  CHECK(set.find("20250102000000_two.cjs")->name == "20250102000000_two.sql");
  CHECK_FALSE(set.find("20250102000000_two.py"));
  CHECK_FALSE(set.find("20250102000000_two"));
}

TEST_CASE("a legacy .js row without a .sql file of its base name is a missing file, named once", "[plan]") {
  try {
    plan_up(three_files(), {row(1, "20250101000000_one.js", 1), row(2, "20240101000000_gone.js", 1)});
    FAIL("no error");
  } catch (const RunError& error) {
    const std::string text = error.what();
    CHECK_THAT(text, Catch::Contains("20240101000000_gone.js"));
    CHECK_THAT(text, !Catch::Contains("_one"));
  }
}

TEST_CASE("rolling back a legacy .js row plans the down section of its .sql file", "[plan]") {
  const auto set = three_files();
  const auto chosen = plan_rollback(set, {row(1, "20250101000000_one.js", 1), row(2, "20250102000000_two.js", 1)},
                                    RollbackSelection::last());
  REQUIRE(chosen.size() == 2);
  CHECK(chosen[0].name == "20250102000000_two.js");
  CHECK(set.find(chosen[0].name)->name == "20250102000000_two.sql");
}

TEST_CASE("with no legacy extensions a .js row is a missing file", "[plan]") {
  const auto dir = fs::temp_directory_path() / ("migrate-plan-legacy-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "20250101000000_one.sql") << "-- migrate:up\nSELECT 1;\n";
  const auto set = migrations::MigrationSet::load(dir, {});
  CHECK_FALSE(set.find("20250101000000_one.js"));
  CHECK_THROWS_AS(plan_up(set, {row(1, "20250101000000_one.js", 1)}), RunError);
  const auto only_js = migrations::MigrationSet::load(dir, {".js"});
  CHECK(only_js.find("20250101000000_one.js"));
  CHECK_FALSE(only_js.find("20250101000000_one.ts"));
  fs::remove_all(dir);
}

// knex's X.js row and our X.sql row for one migration (the .js row put back by hand, or knex run
// again after the switch): running or rolling back would do it twice, or leave the other row.
TEST_CASE("two ledger rows that stand for one file are refused by a run and by a rollback, naming both", "[plan]") {
  const auto set = three_files();
  const std::vector<ledger::AppliedMigration> same_batch = {row(1, "20250101000000_one.js", 1),
                                                            row(2, "20250101000000_one.sql", 1)};
  const std::vector<ledger::AppliedMigration> two_batches = {row(1, "20250101000000_one.js", 1),
                                                             row(2, "20250101000000_one.sql", 2)};
  for (const auto& applied : {same_batch, two_batches}) {
    const std::string both =
        "ledger rows 20250101000000_one.js and 20250101000000_one.sql both stand for "
        "20250101000000_one.sql";
    CHECK_THROWS_WITH(plan_up(set, applied), Catch::Contains(both));
    CHECK_THROWS_AS(plan_up(set, applied), RunError);
    CHECK_THROWS_WITH(plan_rollback(set, applied, RollbackSelection::last()),
                      Catch::Contains(both) && Catch::Contains("nothing was rolled back"));
    CHECK_THROWS_AS(plan_rollback(set, applied, RollbackSelection::every()), InputError);
  }
}

TEST_CASE("a missing file recorded by knex as .js is explained as a knex migration not converted", "[plan]") {
  CHECK_THROWS_WITH(
      plan_up(three_files(), {row(1, "20240101000000_gone.js", 1)}),
      Catch::Contains("20240101000000_gone.js") &&
          Catch::Contains("knex's X.js rows need X.sql files: convert them, see Switching from knex scripts"));
}

TEST_CASE("rollback to a name takes every applied migration after it, newest applied first", "[plan]") {
  const auto set = three_files();
  const std::vector<ledger::AppliedMigration> applied = {
      row(1, "20250101000000_one.sql", 1), row(2, "20250103000000_three.sql", 2), row(3, "20250102000000_two.sql", 3)};
  const auto chosen = plan_rollback(set, applied, RollbackSelection::to("20250101000000_one.sql"));
  REQUIRE(chosen.size() == 2);
  CHECK(chosen[0].name == "20250102000000_two.sql");  // applied last, undone first
  CHECK(chosen[1].name == "20250103000000_three.sql");
  CHECK(plan_rollback(set, applied, RollbackSelection::to("20250103000000_three.sql")).empty());
}

TEST_CASE("rollback by steps takes the newest N applied, one by name only that one", "[plan]") {
  const auto set = three_files();
  const std::vector<ledger::AppliedMigration> applied = {
      row(1, "20250101000000_one.sql", 1), row(2, "20250102000000_two.sql", 1), row(3, "20250103000000_three.sql", 1)};
  const auto two = plan_rollback(set, applied, RollbackSelection::newest_n(2));
  REQUIRE(two.size() == 2);
  CHECK(two[0].name == "20250103000000_three.sql");
  CHECK(two[1].name == "20250102000000_two.sql");
  CHECK(plan_rollback(set, applied, RollbackSelection::newest_n(10)).size() == 3);
  const auto one = plan_rollback(set, applied, RollbackSelection::only("20250101000000_one.sql"));
  REQUIRE(one.size() == 1);
  CHECK(one[0].id == 1);
  // A knex row X.js is found by its .sql name.
  CHECK(plan_rollback(set, {row(7, "20250101000000_one.js", 1)}, RollbackSelection::only("20250101000000_one.sql"))
            .size() == 1);
}

TEST_CASE("a rollback to a name refuses when a migration to undo has no down section", "[plan]") {
  const auto set = three_files(/*second_has_down=*/false);
  const std::vector<ledger::AppliedMigration> applied = {
      row(1, "20250101000000_one.sql", 1), row(2, "20250102000000_two.sql", 1), row(3, "20250103000000_three.sql", 1)};
  CHECK_THROWS_WITH(plan_rollback(set, applied, RollbackSelection::to("20250101000000_one.sql")),
                    Catch::Contains("20250102000000_two.sql") && Catch::Contains("no down section"));
  CHECK(plan_rollback(set, applied, RollbackSelection::to("20250102000000_two.sql")).size() == 1);
}

TEST_CASE("a migration is named by its file name, its timestamp or a unique part", "[plan]") {
  const std::vector<std::string> names = {"20250101000000_create_users.sql", "20250102000000_create_orders.sql",
                                          "20250103000000_add_user_email.sql"};
  CHECK(resolve_migration_name(names, "20250102000000_create_orders.sql", {}, "pending") ==
        "20250102000000_create_orders.sql");
  CHECK(resolve_migration_name(names, "20250102000000_create_orders", {}, "pending") ==
        "20250102000000_create_orders.sql");
  CHECK(resolve_migration_name(names, "20250103000000", {}, "pending") == "20250103000000_add_user_email.sql");
  CHECK(resolve_migration_name(names, "orders", {}, "pending") == "20250102000000_create_orders.sql");
  // Several: each is named, and nothing is chosen.
  CHECK_THROWS_WITH(resolve_migration_name(names, "create", {}, "pending"),
                    Catch::Contains("matches 2 migrations") && Catch::Contains("20250101000000_create_users.sql") &&
                        Catch::Contains("20250102000000_create_orders.sql"));
  CHECK_THROWS_AS(resolve_migration_name(names, "create", {}, "pending"), InputError);
  // None: what could have been meant is listed.
  CHECK_THROWS_WITH(resolve_migration_name(names, "invoices", {"20250103000000_add_user_email.sql"}, "pending"),
                    Catch::Contains("no migration matches 'invoices'") &&
                        Catch::Contains("pending: 20250103000000_add_user_email.sql"));
  CHECK_THROWS_WITH(resolve_migration_name(names, "2025", {}, "applied"), Catch::Contains("matches 3 migrations"));
  CHECK_THROWS_WITH(resolve_migration_name(names, "", {}, "applied"), Catch::Contains("applied: none"));
}
