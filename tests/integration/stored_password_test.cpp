// The v2 format (libs/crypto/src/stored_password.cpp) against Node: the README's lines of Node
// read what `migrate encrypt --format v2` writes and refuse it changed, and what they write,
// migrate reads, in-process and as a tenant's stored password.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "migrate/crypto/key.hpp"
#include "migrate/crypto/key_ring.hpp"
#include "migrate/crypto/stored_password.hpp"
#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/process.hpp"

namespace crypto = migrate::crypto;

namespace {

const std::string raw_key = "0123456789abcdef0123456789abcdef";
const std::string hex_key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

// The README's block of Node after its marker, as written there.
std::string readme_snippet() {
  std::ifstream in(std::string(MIGRATE_SOURCE_DIR) + "/README.md");
  std::stringstream text;
  text << in.rdbuf();
  const auto all = text.str();
  const auto marker = all.find("<!-- the v2 Node snippet:");
  REQUIRE(marker != std::string::npos);
  const auto start = all.find("```js\n", marker);
  REQUIRE(start != std::string::npos);
  const auto end = all.find("\n```\n", start);
  REQUIRE(end != std::string::npos);
  return all.substr(start + 6, end - start - 6);
}

// A script of the README's lines and a few of ours that call them:
//   node SCRIPT encrypt KEY PASSWORD     prints encryptV2(PASSWORD, keyOf(KEY))
//   node SCRIPT decrypt KEYS STORED      prints decryptV2(STORED, KEYS split at commas, each keyOf)
class NodeSnippet {
 public:
  NodeSnippet() : path_(std::filesystem::temp_directory_path() / support::unique_name("migrate-v2-snippet-")) {
    std::ofstream(path_) << readme_snippet() << "\n"
                         << "const [command, keys, text] = process.argv.slice(2);\n"
                            "const ring = keys.split(',').map(keyOf);\n"
                            "try {\n"
                            "  process.stdout.write(command === 'encrypt' ? encryptV2(text, ring[0]) : decryptV2(text, "
                            "ring));\n"
                            "} catch (error) { console.error(error.message); process.exit(1); }\n";
  }
  ~NodeSnippet() { std::filesystem::remove(path_); }

  support::ProcessResult run(const std::string& command, const std::string& keys, const std::string& text) const {
    return support::run({"/usr/bin/env", "node", path_.string(), command, keys, text});
  }

 private:
  std::filesystem::path path_;
};

// `migrate encrypt --format v2` under `key`, `password` on standard input: the stored value.
std::string migrate_encrypt_v2(const std::string& key, const std::string& password) {
  const auto input = std::filesystem::temp_directory_path() / support::unique_name("migrate-v2-input-");
  { std::ofstream(input) << password << "\n"; }
  const auto result =
      support::run({"/bin/sh", "-c", "exec \"$0\" encrypt --format v2 < \"$1\"", MIGRATE_BINARY, input.string()},
                   {{"DB_ENCRYPTION_KEY", key}});
  std::filesystem::remove(input);
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  CHECK(result.all().find(password) == std::string::npos);
  CHECK(result.all().find(key) == std::string::npos);
  return result.out.substr(0, result.out.find('\n'));
}

}  // namespace

TEST_CASE("what migrate encrypt --format v2 writes, the Node lines of the README decrypt, and refuse changed",
          "[integration][encrypt][v2][knex]") {
  const NodeSnippet node;
  for (const auto& key : {raw_key, hex_key}) {
    for (const std::string password : {"p@ss:w/rd 'q' \"d\"", "ünïcødé-🔑", "x"}) {
      const auto stored = migrate_encrypt_v2(key, password);
      INFO(stored);
      CHECK(stored.rfind("v2:" + crypto::key_id(crypto::parse_key(key)) + ":", 0) == 0);
      const auto read = node.run("decrypt", key, stored);
      CHECK(read.exit_code == 0);
      CHECK(read.out == password);
      // Node finds the key by its id among several.
      const auto among = node.run("decrypt", std::string(32, 'z') + "," + key, stored);
      CHECK(among.out == password);

      // One hex digit changed in the IV, the tag and the ciphertext: Node refuses each.
      const auto last_colon = stored.rfind(':');
      for (const std::size_t at : {std::size_t{12}, std::size_t{40}, last_colon + 1, stored.size() - 1}) {
        auto changed = stored;
        changed[at] = changed[at] == '0' ? '1' : '0';
        const auto refused = node.run("decrypt", key, changed);
        CHECK(refused.exit_code == 1);
        CHECK(refused.out.empty());
        CHECK_THAT(refused.err, Catch::Contains("Unsupported state or unable to authenticate data"));
      }
      // Under a key Node does not have.
      CHECK(node.run("decrypt", std::string(32, 'z'), stored).exit_code == 1);
    }
  }
}

TEST_CASE("what the Node lines of the README write as v2, migrate decrypts and logs in with",
          "[integration][encrypt][v2][knex]") {
  const NodeSnippet node;
  for (const auto& key : {raw_key, hex_key}) {
    const std::string password = "node-wrote-this: ünï 'q'";
    const auto written = node.run("encrypt", key, password);
    INFO(written.all());
    REQUIRE(written.exit_code == 0);
    const auto& stored = written.out;
    CHECK_THAT(stored, Catch::Matches("v2:[0-9a-f]{8}:[0-9a-f]{24}:[0-9a-f]{32}:[0-9a-f]+"));
    const crypto::KeyRing ring(crypto::parse_key(key));
    const auto opened = crypto::open_password(stored, ring);
    CHECK(opened.password.view() == password);
    CHECK(opened.format == crypto::Format::v2);
    // Read under a previous key too.
    const crypto::KeyRing rotated(crypto::parse_key(std::string(32, 'n')), crypto::parse_previous_keys(key));
    CHECK(crypto::open_password(stored, rotated).key_index == 1);
  }

  // As a tenant's stored password: migrate connects with it.
  support::TestFleet fleet;
  fleet.write_simple_migrations(1, 1);
  const auto probe = fleet.add_tenant("node-v2");
  const auto written = node.run("encrypt", fleet.key(), probe.password);
  REQUIRE(written.exit_code == 0);
  support::admin_exec("UPDATE tenants SET db_password_encrypted = '" + written.out + "' WHERE id = '" + probe.id + "'",
                      fleet.central_db());
  const auto result = fleet.migrate({"tenant", "node-v2"});
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK(fleet.table_exists(probe, "t1"));
}
