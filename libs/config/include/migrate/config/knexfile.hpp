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

// Only `encryption.format` of `environment` in the knexfile at `path`, for `migrate encrypt`, which
// needs no central database: no other key is read or expanded. The default (cbc) when `path` does
// not exist and `required` is false. Throws InputError, as load_settings does, for a missing file
// when `required`, malformed YAML, an unknown environment, or an unknown value (naming it).
EncryptionFormat read_encryption_format(const std::filesystem::path& path, const std::string& environment,
                                        bool required);

// `text` with every ${NAME} replaced by the environment variable NAME. Throws InputError naming
// `where` and the variable when one is unset, and for an unterminated "${".
std::string expand_environment(const std::string& text, const std::string& where);

}  // namespace migrate::config
