// `migrate encrypt`: the real binary, a password fed through standard input.
#include <termios.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "migrate/crypto/key.hpp"
#include "migrate/crypto/password_cipher.hpp"
#include "migrate/crypto/stored_password.hpp"
#include "support/cluster.hpp"
#include "support/process.hpp"
#include "support/terminal.hpp"

namespace {

const std::string key = "0123456789abcdef0123456789abcdef";
const std::string knex_dir = std::string(MIGRATE_SOURCE_DIR) + "/tests/knex";

// `migrate encrypt` under `key` with `input` (bytes as they are) as its standard input.
support::ProcessResult encrypt(const std::string& input) {
  const auto path = std::filesystem::temp_directory_path() / support::unique_name("migrate-encrypt-input-");
  { std::ofstream(path, std::ios::binary) << input; }
  auto result = support::run({"/bin/sh", "-c", "exec \"$0\" encrypt < \"$1\"", MIGRATE_BINARY, path.string()},
                             {{"DB_ENCRYPTION_KEY", key}});
  std::filesystem::remove(path);
  return result;
}

// The first line `migrate encrypt` printed, decrypted in this process.
std::string decrypted(const support::ProcessResult& result) {
  const auto stored = result.out.substr(0, result.out.find('\n'));
  return std::string(migrate::crypto::decrypt_password(stored, migrate::crypto::parse_key(key)).view());
}

}  // namespace

TEST_CASE("migrate encrypt refuses a password with a control character, exit 2, without echoing it",
          "[integration][encrypt]") {
  for (const std::string& password :
       {std::string("tab\tSecret-tab-1"), std::string("ctrl\x01Secret-ctrl-2"), std::string("esc\x1b[31mSecret-esc-3"),
        std::string("del\x7fSecret-del-4"), std::string("nul\0Secret-nul-5", 16), std::string("cr\rSecret-cr-6"),
        std::string("c1\xc2\x85Secret-c1-7")}) {
    const auto visible = password.substr(password.find("Secret-"));
    INFO(visible);
    const auto result = encrypt(password + "\n");
    CHECK(result.exit_code == 2);
    CHECK(result.out.empty());
    CHECK(result.err ==
          "migrate: error: encrypt: the password holds a control character (such as a tab) besides its final "
          "newline; migrate could not decrypt it later\n");
    CHECK(result.all().find(visible) == std::string::npos);
  }
}

TEST_CASE("migrate encrypt refuses a password that is not valid UTF-8, exit 2, without echoing it",
          "[integration][encrypt]") {
  for (const std::string& password :
       {std::string("latin1-caf\xe9-Secret-1"), std::string("\xc0\xaf-Secret-overlong-2"),
        std::string("surrogate-\xed\xa0\x80-Secret-3"), std::string("cut-Secret-4\xf0\x9f")}) {
    const auto visible = password.substr(password.find("Secret-"), 8);
    INFO(visible);
    const auto result = encrypt(password + "\n");
    CHECK(result.exit_code == 2);
    CHECK(result.out.empty());
    CHECK(result.err ==
          "migrate: error: encrypt: the password is not valid UTF-8; migrate could not decrypt it later\n");
    CHECK(result.all().find(visible) == std::string::npos);
  }
}

TEST_CASE("migrate encrypt refuses a password longer than 4096 bytes and an empty one", "[integration][encrypt]") {
  const auto too_long = encrypt(std::string(4097, 'p') + "\n");
  CHECK(too_long.exit_code == 2);
  CHECK(too_long.out.empty());
  CHECK(too_long.err == "migrate: error: encrypt: the password is longer than 4096 bytes\n");

  const auto longest = encrypt(std::string(4096, 'p') + "\n");
  INFO(longest.err);
  REQUIRE(longest.exit_code == 0);
  CHECK(decrypted(longest) == std::string(4096, 'p'));

  for (const std::string& nothing : {std::string(), std::string("\n"), std::string("\r\n")}) {
    const auto result = encrypt(nothing);
    CHECK(result.exit_code == 2);
    CHECK(result.err == "migrate: error: encrypt: no password on standard input\n");
  }
}

TEST_CASE("migrate encrypt takes the first line, without its LF or CRLF, or all of an unterminated input",
          "[integration][encrypt]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"first-line\nsecond-line\n", "first-line"},
      {"windows-line\r\n", "windows-line"},
      {"no-newline-at-end", "no-newline-at-end"},
      {"spaces are printable \n", "spaces are printable "},
  };
  for (const auto& [input, password] : cases) {
    INFO(password);
    const auto result = encrypt(input);
    REQUIRE(result.exit_code == 0);
    CHECK(result.err.empty());
    CHECK(result.out.find(password) == std::string::npos);
    CHECK(decrypted(result) == password);
  }
}

TEST_CASE("what migrate encrypt writes, Node crypto decrypts", "[integration][encrypt][knex]") {
  if (!std::filesystem::exists(knex_dir + "/knex_check.js")) FAIL("tests/knex/knex_check.js missing");
  for (const std::string password : {"p@ss:w/rd 'q' \"d\"", "ünïcødé-🔑", "sixteen-bytes-xx"}) {
    const auto encrypted = encrypt(password + "\n");
    INFO(encrypted.all());
    REQUIRE(encrypted.exit_code == 0);
    CHECK(encrypted.all().find(password) == std::string::npos);
    const std::string stored = encrypted.out.substr(0, encrypted.out.find('\n'));
    const auto node = support::run({"/usr/bin/env", "node", knex_dir + "/knex_check.js", "decrypt", key, stored});
    CHECK(node.exit_code == 0);
    CHECK(node.out == password);
  }
}

TEST_CASE("migrate encrypt on a terminal does not echo the password typed", "[integration][encrypt]") {
  const std::string password = "typed-Secret-at-a-terminal 42";
  support::Terminal terminal({MIGRATE_BINARY, "encrypt"}, {{"DB_ENCRYPTION_KEY", key}});
  terminal.wait_for_text("Password: ");
  CHECK((terminal.settings().c_lflag & ECHO) == 0);
  terminal.type(password + "\n");
  CHECK(terminal.wait() == 0);
  const auto shown = terminal.shown();
  INFO(shown);
  CHECK(shown.find("Secret-at") == std::string::npos);
  // The screen: the prompt, the line Enter ended, then the encrypted password.
  const auto screen = support::screen_lines(shown);
  REQUIRE(screen.size() == 2);
  CHECK(screen[0] == "Password: ");
  CHECK_THAT(screen[1], Catch::Matches("[0-9a-f]{32}:[0-9a-f]{64}"));
  CHECK(std::string(migrate::crypto::decrypt_password(screen[1], migrate::crypto::parse_key(key)).view()) == password);
  CHECK((terminal.settings().c_lflag & ECHO) != 0);  // given back
}

namespace {

// `migrate encrypt` run in `dir` (which may hold a knexfile.yaml), with `args` after "encrypt".
support::ProcessResult encrypt_in(const std::filesystem::path& dir, const std::vector<std::string>& args,
                                  const std::string& password, const std::vector<std::string>& before = {}) {
  const auto input = dir / "password-input";
  { std::ofstream(input) << password << "\n"; }
  std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$@\" < \"$0\"", input.string(), MIGRATE_BINARY};
  argv.insert(argv.end(), before.begin(), before.end());
  argv.push_back("encrypt");
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = support::run(argv, {{"DB_ENCRYPTION_KEY", key}, {"MIGRATE_ENV", ""}}, dir);
  std::filesystem::remove(input);
  return result;
}

struct TempDir {
  TempDir() : path(std::filesystem::temp_directory_path() / support::unique_name("migrate-encrypt-dir-")) {
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  void knexfile(const std::string& text) const { std::ofstream(path / "knexfile.yaml") << text; }
  std::filesystem::path path;
};

}  // namespace

TEST_CASE("migrate encrypt writes the encryption.format of the knexfile, or --format, without a central database",
          "[integration][encrypt]") {
  const TempDir dir;
  const std::string password = "format-Secret-7";
  const auto v2_pattern = "v2:[0-9a-f]{8}:[0-9a-f]{24}:[0-9a-f]{32}:[0-9a-f]{30}\n";
  const auto cbc_pattern = "[0-9a-f]{32}:[0-9a-f]{32}\n";

  // No knexfile: cbc, as before; --format v2 asks for v2.
  auto result = encrypt_in(dir.path, {}, password);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Matches(cbc_pattern));
  result = encrypt_in(dir.path, {"--format", "v2"}, password);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Matches(v2_pattern));

  // A knexfile whose other keys could not be loaded here (an unset variable, no central database):
  // only encryption.format is read.
  dir.knexfile(
      "development:\n  connection: ${NOT_SET_ANYWHERE_FOR_ENCRYPT}\n  encryption:\n    format: v2\n"
      "production:\n  connection: ${NOT_SET_ANYWHERE_FOR_ENCRYPT}\n");
  result = encrypt_in(dir.path, {}, password);
  INFO(result.all());
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Matches(v2_pattern));
  const auto stored = result.out.substr(0, result.out.size() - 1);
  const migrate::crypto::KeyRing ring(migrate::crypto::parse_key(key));
  CHECK(migrate::crypto::decrypt_password(stored, ring).view() == password);
  result = encrypt_in(dir.path, {"--format", "cbc"}, password);
  CHECK_THAT(result.out, Catch::Matches(cbc_pattern));
  result = encrypt_in(dir.path, {}, password, {"--env", "production"});
  CHECK_THAT(result.out, Catch::Matches(cbc_pattern));
  CHECK(result.err.empty());
}

TEST_CASE("migrate encrypt refuses an unknown encryption.format or --format, exit 2, naming it",
          "[integration][encrypt]") {
  const TempDir dir;
  dir.knexfile("development:\n  connection: x\n  encryption:\n    format: aes-gcm\n");
  auto result = encrypt_in(dir.path, {}, "unknown-Secret-1");
  CHECK(result.exit_code == 2);
  CHECK(result.out.empty());
  CHECK(result.err ==
        "migrate: error: knexfile.yaml:4: development.encryption.format is 'aes-gcm', not a known format: cbc "
        "(AES-256-CBC, what Node code of existing fleets reads) or v2 (AES-256-GCM, authenticated)\n");
  dir.knexfile("development:\n  connection: x\n  encryption:\n    formats: v2\n");
  result = encrypt_in(dir.path, {}, "unknown-Secret-1");
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Catch::Contains("development.encryption.formats is not a known key (known: format)"));
  result = encrypt_in(dir.path, {"--format", "v3"}, "unknown-Secret-1");
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Catch::Contains("--format: v3 not in {cbc,v2}"));
  // A knexfile named on the command line must be there.
  result = encrypt_in(dir.path, {}, "unknown-Secret-1", {"--knexfile", "missing.yaml"});
  CHECK(result.exit_code == 2);
  CHECK(result.err ==
        "migrate: error: missing.yaml: no such file (pass --knexfile PATH, or run from the folder that has "
        "knexfile.yaml)\n");
  CHECK(result.all().find("unknown-Secret") == std::string::npos);
}
