#include "migrate/migrations/new_migration.hpp"

#include <ctime>
#include <fstream>

#include "migrate/core/error.hpp"
#include "migrate/migrations/migration_file.hpp"

namespace migrate::migrations {

std::filesystem::path write_new_migration(const std::filesystem::path& directory, const std::string& name,
                                          std::chrono::system_clock::time_point now) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[16];
  std::strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &utc);
  const std::string file_name = std::string(stamp) + "_" + name + ".sql";
  if (!is_snake_case_file_name(file_name))
    throw InputError("migration name '" + name +
                     "' must be lowercase snake_case: letters a-z, digits and single underscores, e.g. add_invoices");

  std::filesystem::create_directories(directory);
  const auto path = directory / file_name;
  if (std::filesystem::exists(path)) throw InputError(path.string() + " exists already");
  std::ofstream out(path);
  if (!out) throw InputError(path.string() + ": cannot write the file");
  out << "-- migrate:up\n"
         "-- One transaction per tenant covers every pending migration; prefer IF NOT EXISTS.\n"
         "-- Put a statement that cannot run in a transaction (CREATE INDEX CONCURRENTLY) in a file\n"
         "-- of its own and write '-- migrate:up transaction:false' above.\n"
         "\n"
         "\n"
         "-- migrate:down\n"
         "-- Undo the up section, newest change first.\n"
         "\n";
  return path;
}

}  // namespace migrate::migrations
