#pragma once
// knexfile.yaml: one block per environment, knex's conventions, ${NAME} taken from the environment.
#include <filesystem>
#include <string>

#include "migrate/config/settings.hpp"

namespace migrate::config {

// The environment to use: `requested` when given, else $MIGRATE_ENV, else "development".
std::string choose_environment(const std::string& requested);

// Reads `environment` from the knexfile at `path`. Throws InputError naming the file (and line),
// the environment and the key for a missing file, malformed YAML (a quoted value never closed
// included), an unknown environment, a missing, unknown or mistyped key, a tableName with a dot, or
// an unset ${VARIABLE}. `ssl` in the mapping form of connection becomes libpq's sslmode, sslrootcert,
// sslcert and sslkey in `central_connection`.
Settings load_settings(const std::filesystem::path& path, const std::string& environment);

// `text` with every ${NAME} replaced by the environment variable NAME. Throws InputError naming
// `where` and the variable when one is unset, and for an unterminated "${".
std::string expand_environment(const std::string& text, const std::string& where);

}  // namespace migrate::config
