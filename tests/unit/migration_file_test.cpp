#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "migrate/core/error.hpp"
#include "migrate/migrations/migration_file.hpp"
#include "migrate/migrations/migration_set.hpp"
#include "migrate/migrations/new_migration.hpp"

using namespace migrate;
using namespace migrate::migrations;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir() {
  static int counter = 0;
  const auto dir =
      fs::temp_directory_path() / ("migrate-files-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string load_error(const fs::path& dir) {
  try {
    MigrationSet::load(dir);
  } catch (const InputError& error) {
    return error.what();
  }
  FAIL("loaded");
  return {};
}

const fs::path file = "20250101000000_add_invoices.sql";

}  // namespace

TEST_CASE("the sections, options and lines of a file are read", "[migrations]") {
  const auto parsed = parse_migration(file,
                                      "-- a comment before the first section is fine\n"
                                      "\n"
                                      "-- migrate:up\n"
                                      "CREATE TABLE invoices (id int);\n"
                                      "-- migrate:down transaction:false\n"
                                      "DROP TABLE invoices;\n");
  CHECK(parsed.name == "20250101000000_add_invoices.sql");
  CHECK(parsed.version == "20250101000000");
  CHECK(parsed.up.sql == "CREATE TABLE invoices (id int);\n");
  CHECK(parsed.up.transaction);
  CHECK(parsed.up.first_line == 3);
  REQUIRE(parsed.down);
  CHECK_FALSE(parsed.down->transaction);
  CHECK(parsed.down->sql == "DROP TABLE invoices;\n");
}

TEST_CASE("a down section with only comments counts as none", "[migrations]") {
  const auto parsed = parse_migration(file, "-- migrate:up\nSELECT 1;\n-- migrate:down\n-- nothing to undo\n");
  CHECK_FALSE(parsed.down);
}

TEST_CASE("bad files are refused with file and line", "[migrations]") {
  CHECK_THROWS_WITH(
      parse_migration(file, "CREATE TABLE x ();\n-- migrate:up\nSELECT 1;\n"),
      "20250101000000_add_invoices.sql:1: text before the first section; start the file with '-- migrate:up'");
  CHECK_THROWS_WITH(parse_migration(file, "-- migrate:down\nSELECT 1;\n"),
                    "20250101000000_add_invoices.sql:1: no '-- migrate:up' section");
  CHECK_THROWS_WITH(parse_migration(file, "-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n"),
                    "20250101000000_add_invoices.sql:3: a second migrate:up section (the first is at line 1)");
  CHECK_THROWS_WITH(parse_migration(file, "-- migrate:up transaction:maybe\nSELECT 1;\n"),
                    Catch::Contains(":1: unknown option 'transaction:maybe'"));
  CHECK_THROWS_WITH(parse_migration(file, "-- migrate:up\n\n-- migrate:down\nSELECT 1;\n"),
                    "20250101000000_add_invoices.sql:1: the up section is empty");
}

TEST_CASE("file names are a 14-digit timestamp and a name of letters, digits, _ and -, as knex writes them",
          "[migrations]") {
  CHECK(is_migration_file_name("20250101000000_add_invoices.sql"));
  CHECK(is_migration_file_name("20250101000000_v2_index.sql"));
  CHECK(is_migration_file_name("20250101000000_createUsers.sql"));  // knex migrate:make createUsers
  CHECK(is_migration_file_name("20250101000000_add-invoices.sql"));
  CHECK(is_migration_file_name("20250101000000_add__x.sql"));
  CHECK_FALSE(is_migration_file_name("2025010100000_short.sql"));
  CHECK_FALSE(is_migration_file_name("20250101000000-add.sql"));
  CHECK_FALSE(is_migration_file_name("20250101000000_.sql"));
  CHECK_FALSE(is_migration_file_name("20250101000000_add invoices.sql"));
  CHECK_FALSE(is_migration_file_name("20250101000000_add.invoices.sql"));
  CHECK_FALSE(is_migration_file_name("20250101000000_add_invoices.SQL"));
  // What migrate make writes: lowercase snake_case only.
  CHECK(is_snake_case_file_name("20250101000000_add_invoices.sql"));
  CHECK_FALSE(is_snake_case_file_name("20250101000000_AddInvoices.sql"));
  CHECK_FALSE(is_snake_case_file_name("20250101000000_add-invoices.sql"));
  CHECK_FALSE(is_snake_case_file_name("20250101000000_add__x.sql"));
}

TEST_CASE("a folder is read in name order and checked as a whole", "[migrations]") {
  const auto dir = fresh_dir();
  std::ofstream(dir / "20250102000000_second.sql") << "-- migrate:up\nSELECT 2;\n";
  std::ofstream(dir / "20250101000000_first.sql") << "-- migrate:up\nSELECT 1;\n";
  std::ofstream(dir / "README.md") << "not a migration";
  const auto set = MigrationSet::load(dir);
  REQUIRE(set.files().size() == 2);
  CHECK(set.files()[0].name == "20250101000000_first.sql");
  CHECK(set.find("20250102000000_second.sql") == &set.files()[1]);
  CHECK(set.find("nope.sql") == nullptr);

  SECTION("two files with one timestamp") {
    std::ofstream(dir / "20250101000000_again.sql") << "-- migrate:up\nSELECT 3;\n";
    CHECK_THAT(load_error(dir), Catch::Contains("the timestamp 20250101000000 is also used by"));
  }
  SECTION("a name not of the form") {
    std::ofstream(dir / "add_things.sql") << "-- migrate:up\nSELECT 3;\n";
    CHECK(load_error(dir) ==
          (dir / "add_things.sql").string() +
              ": the name must be YYYYMMDDHHMMSS_name.sql (a 14-digit UTC timestamp, _, then letters, "
              "digits, _ and -)");
  }
  SECTION("a missing folder") {
    CHECK_THAT(load_error(dir / "nope"), Catch::Contains("no such migrations folder"));
  }
}

TEST_CASE("make writes a timestamped file with both sections and refuses bad names", "[migrations]") {
  const auto dir = fresh_dir();
  const auto at = std::chrono::system_clock::from_time_t(1767225600);  // 2026-01-01 00:00:00 UTC
  const auto path = write_new_migration(dir, "add_invoices", at);
  CHECK(path == dir / "20260101000000_add_invoices.sql");
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, Catch::StartsWith("-- migrate:up\n") && Catch::Contains("\n-- migrate:down\n"));
  CHECK_THROWS_WITH(write_new_migration(dir, "AddInvoices", at), Catch::Contains("must be lowercase snake_case"));
  CHECK_THROWS_WITH(write_new_migration(dir, "add invoices", at), Catch::Contains("must be lowercase snake_case"));
  CHECK_THROWS_WITH(write_new_migration(dir, "add_invoices", at), Catch::Contains("exists already"));
}
