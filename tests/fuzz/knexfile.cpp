// libFuzzer: load_settings on any knexfile text, environment "development", with ${VAR} expansion
// of a few variables set here. It returns settings or throws InputError (exit 2, as its contract
// says), never anything else; and the error never holds what a variable with a secret holds,
// whatever key the file puts it in (unless the file itself spells the secret out).
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "migrate/config/knexfile.hpp"
#include "migrate/core/error.hpp"

namespace {

// load_settings reads a path (and resolves folders against it): each input is written to one file.
std::filesystem::path knexfile_path() {
  const std::filesystem::path shm = "/dev/shm";
  const auto dir = std::filesystem::exists(shm) ? shm : std::filesystem::temp_directory_path();
  return dir / ("migrate-fuzz-knexfile-" + std::to_string(::getpid()) + ".yaml");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ::setenv("CENTRAL_DATABASE_URL", "postgresql://platform:Uv7url5ecret@db.internal:5432/platform", 1);
  ::setenv("CENTRAL_DB_PASSWORD", "p'a\\ss word Zq8", 1);
  ::setenv("SECRET_NUMBER", "8675309", 1);
  ::setenv("MIGRATIONS_DIR", "migrations/tenant", 1);
  ::setenv("EMPTY", "", 1);
  ::unsetenv("UNSET");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto path = knexfile_path();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const auto settings = migrate::config::load_settings(path, "development");
    if (settings.central_connection.empty() || settings.tenant_migrations.table_name.empty()) std::abort();
  } catch (const migrate::InputError& error) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    const std::string what = error.what();
    for (const char* secret : {"Uv7url5ecret", "ss word Zq8", "8675309"})
      if (what.find(secret) != std::string::npos && input.find(secret) == std::string::npos) std::abort();
  }
  return 0;
}
