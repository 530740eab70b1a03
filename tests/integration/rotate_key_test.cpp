// `migrate rotate-key` (libs/runner/src/rotate_key.cpp): every tenant password decrypted with the key
// ring first, then all re-encrypted under DB_ENCRYPTION_KEY in one central transaction, or none.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "migrate/crypto/key.hpp"
#include "migrate/crypto/key_ring.hpp"
#include "migrate/crypto/password_cipher.hpp"
#include "migrate/crypto/stored_password.hpp"
#include "support/cluster.hpp"
#include "support/fleet.hpp"

using support::TestFleet;
namespace crypto = migrate::crypto;

namespace {

const std::string old_key = "old-key-retired-0123456789abcdef";
const std::string older_key_hex = "8899aabbccddeeff00112233445566778899aabbccddeeff0011223344556677";

// Every row of the central tenants table as text, in id order: what must not change.
std::vector<std::vector<std::string>> central_rows(const TestFleet& fleet) {
  pqxx::connection central(support::admin_conninfo(fleet.central_db()));
  pqxx::nontransaction tx(central);
  std::vector<std::vector<std::string>> rows;
  for (const auto& row : tx.exec("SELECT t::text, db_password_encrypted, updated_at::text FROM tenants t ORDER BY id"))
    rows.push_back({row[0].c_str(), row[1].c_str(), row[2].c_str()});
  return rows;
}

std::string stored_of(const TestFleet& fleet, const support::Tenant& tenant) {
  return support::admin_exec("SELECT db_password_encrypted FROM tenants WHERE id = '" + tenant.id + "'",
                             fleet.central_db())[0][0]
      .c_str();
}

void store(const TestFleet& fleet, const support::Tenant& tenant, const std::string& stored) {
  pqxx::connection central(support::admin_conninfo(fleet.central_db()));
  pqxx::work tx(central);
  tx.exec_params("UPDATE tenants SET db_password_encrypted = $1, updated_at = now() - interval '1 day' WHERE id = $2",
                 stored, tenant.id);
  tx.commit();
}

crypto::KeyRing ring_of(const std::string& current, const std::string& previous = "") {
  return crypto::KeyRing(crypto::parse_key(current), crypto::parse_previous_keys(previous));
}

// A fleet in the middle of a key rotation: tenants under the current key and under two previous
// ones, in both formats, of every status, each with one migration to apply.
struct RotatingFleet {
  explicit RotatingFleet(const std::string& knexfile_extra = "") : fleet(knexfile_extra) {
    fleet.write_simple_migrations(1, 1);
    current_cbc = fleet.add_tenant("current-cbc");
    old_cbc = fleet.add_tenant("old-cbc");
    store(fleet, old_cbc, crypto::encrypt_password(old_cbc.password, crypto::parse_key(old_key)));
    const auto older = crypto::parse_key(older_key_hex);
    older_v2 = fleet.add_tenant("older-v2");
    store(fleet, older_v2, crypto::encrypt_password_v2(older_v2.password, older, crypto::key_id(older)));
    old_suspended = fleet.add_tenant("old-suspended", "suspended");
    store(fleet, old_suspended, crypto::encrypt_password(old_suspended.password, crypto::parse_key(old_key)));
    current_deleted = fleet.add_tenant("current-deleted", "deleted");
  }

  std::map<std::string, std::string> with_previous() const {
    return {{"DB_ENCRYPTION_KEY_PREVIOUS", old_key + "," + older_key_hex}};
  }
  std::map<std::string, std::string> without_previous() const { return {{"DB_ENCRYPTION_KEY_PREVIOUS", ""}}; }

  TestFleet fleet;
  support::Tenant current_cbc, old_cbc, older_v2, old_suspended, current_deleted;
};

void require_no_previous_key(const std::string& output) {
  CHECK(output.find(old_key) == std::string::npos);
  CHECK(output.find(older_key_hex) == std::string::npos);
}

}  // namespace

TEST_CASE("rotate-key moves every tenant from previous keys and CBC to the current key and v2",
          "[integration][rotate_key]") {
  RotatingFleet rotating("encryption:\n  format: v2\n");
  auto& fleet = rotating.fleet;
  // Before: the tenants under previous keys do not decrypt without DB_ENCRYPTION_KEY_PREVIOUS.
  const auto before = fleet.migrate({"status"}, rotating.without_previous());
  CHECK(before.exit_code == 1);
  CHECK_THAT(before.all(), Catch::Contains("old-cbc") && Catch::Contains("wrong key or corrupted value"));
  const auto rows_before = central_rows(fleet);

  const auto rotated = fleet.migrate({"rotate-key"}, rotating.with_previous());
  INFO(rotated.all());
  REQUIRE(rotated.exit_code == 0);
  require_no_previous_key(rotated.all());
  const auto ring = ring_of(fleet.key());
  const auto& id = ring.current().id;
  const auto old_id = crypto::key_id(crypto::parse_key(old_key));
  const auto older_id = crypto::key_id(crypto::parse_key(older_key_hex));
  CHECK(rotated.out ==
        "tenants: 5 (every status)\n"
        "under DB_ENCRYPTION_KEY (key id " +
            id +
            "): 2\n"
            "under DB_ENCRYPTION_KEY_PREVIOUS key 1 (key id " +
            old_id +
            "): 2\n"
            "under DB_ENCRYPTION_KEY_PREVIOUS key 2 (key id " +
            older_id +
            "): 1\n"
            "under DB_ENCRYPTION_KEY_PREVIOUS: 3\n"
            "cbc -> v2: 4\n"
            "v2 -> v2: 1\n"
            "re-encrypted: 5 under DB_ENCRYPTION_KEY (key id " +
            id + "), format v2\n");

  // Every row: v2 under the current key, the same password, updated_at moved on.
  const auto rows_after = central_rows(fleet);
  REQUIRE(rows_after.size() == rows_before.size());
  for (std::size_t i = 0; i < rows_after.size(); ++i) CHECK(rows_after[i][2] != rows_before[i][2]);
  for (const auto* tenant : {&rotating.current_cbc, &rotating.old_cbc, &rotating.older_v2, &rotating.old_suspended,
                             &rotating.current_deleted}) {
    const auto stored = stored_of(fleet, *tenant);
    INFO(tenant->slug << ": " << stored);
    CHECK(stored.rfind("v2:" + id + ":", 0) == 0);
    const auto opened = crypto::open_password(stored, ring);
    CHECK(opened.password.view() == tenant->password);
    CHECK(opened.key_index == 0);
  }

  // After: the previous keys can go.
  const auto all = fleet.migrate({"all-tenants"}, rotating.without_previous());
  INFO(all.all());
  CHECK(all.exit_code == 0);
  CHECK(fleet.table_exists(rotating.old_cbc, "t1"));
  CHECK(fleet.table_exists(rotating.older_v2, "t1"));
  const auto status = fleet.migrate({"status"}, rotating.without_previous());
  CHECK(status.exit_code == 0);
  const auto check = fleet.migrate({"rotate-key", "--dry-run"}, rotating.without_previous());
  CHECK(check.exit_code == 0);
  CHECK_THAT(check.out, Catch::Contains("under DB_ENCRYPTION_KEY_PREVIOUS: 0\n") && Catch::Contains("v2 -> v2: 5\n"));
}

TEST_CASE("rotate-key changes nothing when one tenant password does not decrypt, naming each such tenant",
          "[integration][rotate_key]") {
  RotatingFleet rotating("encryption:\n  format: v2\n");
  auto& fleet = rotating.fleet;
  const auto stranger = crypto::parse_key(std::string(32, 's'));
  const auto lost = fleet.add_tenant("lost-key", "active", {}, crypto::encrypt_password("lost-password", stranger));
  const auto lost_v2 = fleet.add_tenant(
      "lost-v2", "deleted", {}, crypto::encrypt_password_v2("lost-password", stranger, crypto::key_id(stranger)));
  const auto rows_before = central_rows(fleet);

  const auto refused = fleet.migrate({"rotate-key"}, rotating.with_previous());
  INFO(refused.all());
  CHECK(refused.exit_code == 1);
  require_no_previous_key(refused.all());
  CHECK(refused.all().find("lost-password") == std::string::npos);
  CHECK(refused.out ==
        "lost-key: cannot decrypt db_password_encrypted: wrong key or corrupted value (tried DB_ENCRYPTION_KEY and 2 "
        "of DB_ENCRYPTION_KEY_PREVIOUS)\n"
        "lost-v2: cannot decrypt db_password_encrypted: the v2 value is under key id " +
            crypto::key_id(stranger) + ", which is neither DB_ENCRYPTION_KEY (" + ring_of(fleet.key()).current().id +
            ") nor one of DB_ENCRYPTION_KEY_PREVIOUS\n"
            "rotate-key: 2 of 7 tenants' passwords do not decrypt with DB_ENCRYPTION_KEY or "
            "DB_ENCRYPTION_KEY_PREVIOUS; nothing was changed\n");
  CHECK(central_rows(fleet) == rows_before);

  // Without the previous keys, the tenants under them are named too, and still nothing changes.
  const auto without = fleet.migrate({"rotate-key"}, rotating.without_previous());
  CHECK(without.exit_code == 1);
  CHECK_THAT(without.out, Catch::Contains("old-cbc: cannot decrypt") && Catch::Contains("older-v2: cannot decrypt") &&
                              Catch::Contains("old-suspended: cannot decrypt") &&
                              Catch::Contains("5 of 7 tenants' passwords do not decrypt"));
  CHECK(central_rows(fleet) == rows_before);
  (void)lost;
  (void)lost_v2;
}

TEST_CASE("rotate-key rolls every row back when an update fails halfway", "[integration][rotate_key]") {
  RotatingFleet rotating;
  auto& fleet = rotating.fleet;
  // The third update in id order fails: the two before it were made in the same transaction.
  support::admin_exec(
      "CREATE FUNCTION refuse_rotation() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "RAISE EXCEPTION 'no rotation for %', NEW.slug; END $$; "
      "CREATE TRIGGER refuse BEFORE UPDATE ON tenants FOR EACH ROW WHEN (NEW.slug = 'old-cbc') "
      "EXECUTE FUNCTION refuse_rotation()",
      fleet.central_db());
  const auto rows_before = central_rows(fleet);
  const auto failed = fleet.migrate({"rotate-key"}, rotating.with_previous());
  INFO(failed.all());
  CHECK(failed.exit_code == 1);
  CHECK_THAT(failed.err, Catch::Contains("rotate-key rolled back, nothing was changed: no rotation for old-cbc"));
  CHECK(central_rows(fleet) == rows_before);
}

TEST_CASE("rotate-key --dry-run prints the counts and changes nothing", "[integration][rotate_key]") {
  RotatingFleet rotating;  // the default format: cbc
  auto& fleet = rotating.fleet;
  const auto rows_before = central_rows(fleet);
  const auto dry = fleet.migrate({"rotate-key", "--dry-run"}, rotating.with_previous());
  INFO(dry.all());
  CHECK(dry.exit_code == 0);
  require_no_previous_key(dry.all());
  const auto id = ring_of(fleet.key()).current().id;  // a copy: the ring is a temporary
  CHECK_THAT(dry.out, Catch::Contains("tenants: 5 (every status)\n") &&
                          Catch::Contains("under DB_ENCRYPTION_KEY_PREVIOUS: 3\n") &&
                          Catch::Contains("cbc -> cbc: 4\nv2 -> cbc: 1\n") &&
                          Catch::EndsWith("dry run: would re-encrypt 5 under DB_ENCRYPTION_KEY (key id " + id +
                                          "), format cbc; nothing was changed\n"));
  CHECK(central_rows(fleet) == rows_before);

  // Written as cbc (the knexfile's default): Node code of existing fleets reads the result.
  const auto rotated = fleet.migrate({"rotate-key"}, rotating.with_previous());
  REQUIRE(rotated.exit_code == 0);
  const auto stored = stored_of(fleet, rotating.older_v2);
  CHECK_THAT(stored, Catch::Matches("[0-9a-f]{32}:[0-9a-f]+"));
  CHECK(crypto::decrypt_password(stored, crypto::parse_key(fleet.key())).view() == rotating.older_v2.password);
}

TEST_CASE("rotate-key refuses a bad DB_ENCRYPTION_KEY_PREVIOUS or encryption.format, exit 2, nothing changed",
          "[integration][rotate_key]") {
  RotatingFleet rotating;
  auto& fleet = rotating.fleet;
  const auto rows_before = central_rows(fleet);
  const auto bad_previous = fleet.migrate({"rotate-key"}, {{"DB_ENCRYPTION_KEY_PREVIOUS", old_key + ",short-one"}});
  CHECK(bad_previous.exit_code == 2);
  CHECK(bad_previous.err ==
        "migrate: error: DB_ENCRYPTION_KEY_PREVIOUS key 2 of 2 must be 32 characters (used as raw bytes) or 64 hex "
        "digits (32 bytes); it has 9 characters (keys are separated by commas, without spaces; a raw key that holds "
        "a comma must be given as 64 hex digits)\n");
  require_no_previous_key(bad_previous.all());

  TestFleet bad_format("encryption:\n  format: gcm\n");
  const auto refused = bad_format.migrate({"rotate-key"});
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err,
             Catch::Contains("test.encryption.format is 'gcm', not a known format: cbc") && Catch::Contains("or v2"));
  CHECK(central_rows(fleet) == rows_before);
}

TEST_CASE(
    "rotate-key refuses while a password rotation is unfinished, and a side row whose tenant is gone does not count",
    "[integration][rotate_key]") {
  RotatingFleet rotating;
  auto& fleet = rotating.fleet;
  support::admin_exec(
      "CREATE TABLE tenants_password_rotations (tenant_id text PRIMARY KEY, password_encrypted text NOT NULL, "
      "started_at timestamptz NOT NULL DEFAULT now())",
      fleet.central_db());
  support::admin_exec("INSERT INTO tenants_password_rotations (tenant_id, password_encrypted) VALUES ('" +
                          rotating.old_cbc.id + "', 'x'), ('gone-tenant', 'y')",
                      fleet.central_db());
  const auto rows_before = central_rows(fleet);
  const auto refused = fleet.migrate({"rotate-key"}, rotating.with_previous());
  INFO(refused.all());
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("a password rotation is unfinished for tenant id " + rotating.old_cbc.id +
                                          ": run migrate rotate-password"));
  CHECK(refused.err.find("gone-tenant") == std::string::npos);
  CHECK(central_rows(fleet) == rows_before);

  support::admin_exec("DELETE FROM tenants_password_rotations WHERE tenant_id = '" + rotating.old_cbc.id + "'",
                      fleet.central_db());
  const auto rotated = fleet.migrate({"rotate-key"}, rotating.with_previous());
  INFO(rotated.all());
  CHECK(rotated.exit_code == 0);
}
