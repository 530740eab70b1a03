#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "migrate/core/error.hpp"
#include "migrate/runner/baseline.hpp"

using namespace migrate;
using namespace migrate::runner;
namespace fs = std::filesystem;

namespace {

migrations::MigrationSet four_files() {
  const auto dir = fs::temp_directory_path() / ("migrate-baseline-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* name :
       {"20250101000000_one.sql", "20250102000000_two.sql", "20250103000000_three.sql", "20250104000000_four.sql"})
    std::ofstream(dir / name) << "-- migrate:up\nSELECT 1;\n";
  return migrations::MigrationSet::load(dir);
}

std::vector<std::string> names(const std::vector<const migrations::MigrationFile*>& files) {
  std::vector<std::string> out;
  for (const auto* file : files) out.push_back(file->name);
  return out;
}

}  // namespace

TEST_CASE("files_up_to takes a file name, with or without .sql, or its 14-digit timestamp", "[baseline]") {
  const auto set = four_files();
  const std::vector<std::string> first_three = {"20250101000000_one.sql", "20250102000000_two.sql",
                                                "20250103000000_three.sql"};
  CHECK(names(files_up_to(set, "20250103000000_three.sql")) == first_three);
  CHECK(names(files_up_to(set, "20250103000000_three")) == first_three);
  CHECK(names(files_up_to(set, "20250103000000")) == first_three);
  CHECK(names(files_up_to(set, "migrations/tenant/20250103000000_three.sql")) == first_three);
  CHECK(names(files_up_to(set, "20250101000000")) == std::vector<std::string>{"20250101000000_one.sql"});
  CHECK(files_up_to(set, "20250104000000_four").size() == 4);
}

TEST_CASE("files_up_to refuses a name that matches no file, naming the nearest", "[baseline]") {
  const auto set = four_files();
  // A mistyped timestamp: the files on either side of where it would sort, and the one named alike.
  CHECK_THROWS_AS(files_up_to(set, "20250102500000_three"), InputError);
  CHECK_THROWS_WITH(files_up_to(set, "20250102500000_three"),
                    "baseline --to 20250102500000_three: no migration in " + set.directory().string() +
                        " is named so (give its file name, with or without .sql, or its 14-digit timestamp); "
                        "nearest: 20250101000000_one.sql, 20250102000000_two.sql, 20250103000000_three.sql, "
                        "20250104000000_four.sql");
  CHECK_THROWS_WITH(files_up_to(set, "20991231000000"), Catch::EndsWith("nearest: 20250103000000_three.sql, "
                                                                        "20250104000000_four.sql"));
  CHECK_THROWS_WITH(files_up_to(set, "four"),
                    Catch::EndsWith("nearest: 20250103000000_three.sql, 20250104000000_four.sql"));
  CHECK_THROWS_WITH(files_up_to(set, "19990101000000_two"),
                    Catch::EndsWith("nearest: 20250101000000_one.sql, 20250102000000_two.sql"));
  // Part of a timestamp is not one.
  CHECK_THROWS_AS(files_up_to(set, "2025010300"), InputError);
}
