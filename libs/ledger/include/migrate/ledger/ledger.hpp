#pragma once
// The knex ledger in a tenant database, table for table what knex creates on PostgreSQL:
//   knex_migrations(id serial primary key, name varchar(255), batch integer, migration_time timestamptz)
//   knex_migrations_lock(index serial primary key, is_locked integer), one row
// The table name is configurable; the lock table is that name + "_lock".
// Beside them, a table of our own that knex never reads:
//   knex_migrations_checksums(name varchar(255) primary key, checksum text, recorded_at timestamptz)
// the checksum of each applied file's up section, keyed by the .sql file name.
#include <pqxx/connection_base>
#include <pqxx/transaction_base>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace migrate::ledger {

struct AppliedMigration {
  int id = 0;
  std::string name;  // the file name, with ".sql"
  int batch = 0;
  std::string migration_time;  // as the server prints it
};

// File name -> hex checksum.
using Checksums = std::map<std::string, std::string>;

struct Glance {
  std::vector<std::string> names;
  int lock_value = 0;  // knex_migrations_lock.is_locked; 2 is a runner of ours, or one that died
  Checksums checksums;
  bool has_checksum_table = true;  // false before the first run that records checksums
};

class Ledger {
 public:
  explicit Ledger(std::string table_name);

  const std::string& table_name() const { return table_name_; }
  std::string lock_table_name() const { return table_name_ + "_lock"; }
  std::string checksum_table_name() const { return table_name_ + "_checksums"; }

  // Every applied migration in the order applied, in one round trip outside any transaction;
  // nothing when the ledger table does not exist yet.
  std::optional<std::vector<AppliedMigration>> applied(pqxx::connection_base& db) const;
  // Only the names, in no order, the lock row's value and the checksums, in one query outside any
  // transaction: the cheapest truthful read, for the path with nothing to do. Nothing when a
  // table is missing. Before the checksum table exists, a second query reads the rest.
  std::optional<Glance> glance(pqxx::connection_base& db) const;
  // The same inside `tx` (the tables must exist).
  std::vector<AppliedMigration> applied(pqxx::transaction_base& tx) const;

  // The recorded checksums outside any transaction; nothing when the table does not exist.
  std::optional<Checksums> checksums(pqxx::connection_base& db) const;
  // The same inside `tx` (the tables must exist).
  Checksums checksums(pqxx::transaction_base& tx) const;

  // Creates both tables as knex does, and the checksum table, if missing. Call under the ledger lock.
  void create_tables(pqxx::transaction_base& tx) const;

  // Records `name` as applied in `batch`, at the current time, and `checksum` (when not empty)
  // as the checksum of `name`.
  void record(pqxx::transaction_base& tx, const std::string& name, int batch, const std::string& checksum = {}) const;
  // Records (or replaces) the checksum of the file `name`.
  void record_checksum(pqxx::transaction_base& tx, const std::string& name, const std::string& checksum) const;
  // Removes the ledger row `id` (a rollback), and the checksum of its file unless another row
  // still records that file.
  void erase(pqxx::transaction_base& tx, int id) const;
  // Removes the checksum of the file `name`.
  void erase_checksum(pqxx::transaction_base& tx, const std::string& name) const;

  // Quoted names, for the lock.
  const std::string& quoted_table() const { return quoted_table_; }
  const std::string& quoted_lock_table() const { return quoted_lock_table_; }
  const std::string& quoted_checksum_table() const { return quoted_checksum_table_; }

 private:
  std::string table_name_;
  std::string quoted_table_;
  std::string quoted_lock_table_;
  std::string quoted_checksum_table_;
};

}  // namespace migrate::ledger
