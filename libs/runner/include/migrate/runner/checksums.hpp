#pragma once
// Applied files edited since they were applied: each file's up section against the checksum
// recorded when it was applied (ledger.hpp's side table). A run refuses such a tenant, as
// Flyway's validate-on-migrate does, unless told to go on; `validate` reports them.
#include <pqxx/transaction_base>

#include <string>
#include <vector>

#include "migrate/core/error.hpp"
#include "migrate/ledger/ledger.hpp"
#include "migrate/migrations/migration_set.hpp"

namespace migrate::runner {

struct EditedFile {
  std::string name;      // the .sql file name
  std::string recorded;  // hex checksum in the ledger
  std::string now;       // hex checksum of the file today
};

struct ChecksumCheck {
  std::vector<EditedFile> edited;
  // Applied, the file present, but no checksum recorded (knex applied it, or it predates checksums).
  std::vector<const migrations::MigrationFile*> unrecorded;
};

// Compares the applied ledger names (knex's X.js stands for X.sql; rows without a file are left
// to the plan) against `checksums`.
ChecksumCheck check_checksums(const migrations::MigrationSet& set, const std::vector<std::string>& applied_names,
                              const ledger::Checksums& checksums);

// "X.sql (checksum recorded 1a2b3c4d…, file now 5e6f7a8b…)", several separated by ", ".
std::string describe_edited(const std::vector<EditedFile>& edited);

// A run's refusal of a tenant with edited files: not transient, the tenant fails (exit 1).
class EditedError : public RunError {
 public:
  explicit EditedError(const std::vector<EditedFile>& edited);
};

// Under the ledger lock: records the checksum of every applied file that has none. Returns the
// warning to print ("recorded checksums of 12 migrations applied before checksums existed"), or nothing.
std::vector<std::string> record_missing_checksums(pqxx::transaction_base& tx, const migrations::MigrationSet& set,
                                                  const ledger::Ledger& ledger);

}  // namespace migrate::runner
