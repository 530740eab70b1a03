#pragma once
// A tenant database as text, to compare before and after a command that must change nothing:
// its relations, columns, constraints, indexes (with validity), functions, and the rows of the
// ledger tables (knex_migrations, its _lock and _checksums tables, when they exist).
#include <string>

#include "support/fleet.hpp"

namespace support {

std::string catalog_snapshot(const Tenant& tenant);

}  // namespace support
