#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "migrate/config/knexfile.hpp"
#include "migrate/core/error.hpp"

using namespace migrate;
using namespace migrate::config;
namespace fs = std::filesystem;

namespace {

// A knexfile with `text` in a folder of its own.
fs::path knexfile(const std::string& text) {
  static int counter = 0;
  const auto dir =
      fs::temp_directory_path() / ("migrate-config-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
  fs::create_directories(dir);
  std::ofstream(dir / "knexfile.yaml") << text;
  return dir / "knexfile.yaml";
}

std::string error_of(const fs::path& path, const std::string& environment) {
  try {
    load_settings(path, environment);
  } catch (const InputError& error) {
    return error.what();
  }
  FAIL("no error");
  return {};
}

}  // namespace

TEST_CASE("an environment block gives its settings, with the defaults of knex", "[config]") {
  ::setenv("MIGRATE_TEST_URL", "postgresql://u:p@db.internal:5433/platform", 1);
  const auto path = knexfile(
      "development:\n"
      "  connection: ${MIGRATE_TEST_URL}\n"
      "production:\n"
      "  client: pg\n"
      "  connection: host=prod dbname=platform\n"
      "  migrations:\n"
      "    directory: db/tenant\n"
      "    tableName: tenant_migrations\n"
      "  tenants:\n"
      "    table: platform.tenants\n"
      "  run:\n"
      "    concurrency: 3\n"
      "  retry:\n"
      "    attempts: 7\n");
  const auto dev = load_settings(path, "development");
  CHECK(dev.central_connection == "postgresql://u:p@db.internal:5433/platform");
  CHECK(dev.tenant_migrations.directory == path.parent_path() / "migrations/tenant");
  CHECK(dev.tenant_migrations.table_name == "knex_migrations");
  CHECK(dev.tenants_table == "tenants");
  CHECK(dev.retry.attempts == 5);

  const auto prod = load_settings(path, "production");
  CHECK(prod.central_connection == "host=prod dbname=platform");
  CHECK(prod.tenant_migrations.directory == path.parent_path() / "db/tenant");
  CHECK(prod.tenant_migrations.table_name == "tenant_migrations");
  CHECK(prod.tenants_table == "platform.tenants");
  CHECK(prod.concurrency == 3);
  CHECK(prod.retry.attempts == 7);
}

TEST_CASE("the environment is --env, else MIGRATE_ENV, else development", "[config]") {
  ::unsetenv("MIGRATE_ENV");
  CHECK(choose_environment("") == "development");
  ::setenv("MIGRATE_ENV", "staging", 1);
  CHECK(choose_environment("") == "staging");
  CHECK(choose_environment("production") == "production");
  ::unsetenv("MIGRATE_ENV");
}

TEST_CASE("NAME in dollar braces is expanded, and an unset one is named", "[config]") {
  ::setenv("MIGRATE_TEST_HOST", "db1", 1);
  ::unsetenv("MIGRATE_TEST_UNSET");
  CHECK(expand_environment("host=${MIGRATE_TEST_HOST} port=5432", "here") == "host=db1 port=5432");
  CHECK(expand_environment("no variables", "here") == "no variables");
  CHECK_THROWS_WITH(expand_environment("x ${MIGRATE_TEST_UNSET}", "knexfile.yaml:2: development.connection"),
                    "knexfile.yaml:2: development.connection: environment variable MIGRATE_TEST_UNSET is not set");
  CHECK_THROWS_WITH(expand_environment("x ${OPEN", "here"), Catch::Contains("unterminated"));
}

TEST_CASE("bad knexfiles are refused naming file, line, environment and key", "[config]") {
  ::unsetenv("MIGRATE_TEST_UNSET");
  SECTION("malformed YAML") {
    const auto path = knexfile("development:\n  connection: [unclosed\n");
    CHECK_THAT(error_of(path, "development"),
               Catch::StartsWith(path.string() + ":") && Catch::Contains("malformed YAML"));
  }
  SECTION("unknown environment") {
    const auto path = knexfile("development:\n  connection: x\ntest:\n  connection: y\n");
    CHECK(error_of(path, "staging") == path.string() + ": no environment 'staging' (it has: development, test)");
  }
  SECTION("missing connection") {
    const auto path = knexfile("development:\n  migrations:\n    directory: m\n");
    CHECK_THAT(error_of(path, "development"), Catch::Contains("development.connection is missing"));
  }
  SECTION("mistyped key") {
    const auto path = knexfile("development:\n  connection: x\n  migrations:\n    tablename: t\n");
    CHECK(error_of(path, "development") == path.string() +
                                               ":4: development.migrations.tablename is not a known key (known: "
                                               "directory, extension, legacyExtensions, loadExtensions, tableName)");
  }
  SECTION("wrong type") {
    const auto path = knexfile("development:\n  connection: x\n  run:\n    concurrency: many\n");
    CHECK(error_of(path, "development") ==
          path.string() + ":4: development.run.concurrency must be a whole number, not 'many'");
  }
  SECTION("a negative or non-numeric timeout") {
    const auto negative = knexfile("development:\n  connection: x\n  run:\n    lockTimeoutMs: -1\n");
    CHECK(error_of(negative, "development") ==
          negative.string() + ":4: development.run.lockTimeoutMs must be between 0 and 86400000");
    const auto words = knexfile("development:\n  connection: x\n  run:\n    statementTimeoutMs: 5s\n");
    CHECK(error_of(words, "development") ==
          words.string() + ":4: development.run.statementTimeoutMs must be a whole number, not '5s'");
  }
  SECTION("a value that must be a string is a list") {
    const auto path = knexfile("development:\n  connection: x\n  tenants:\n    table: [a, b]\n");
    CHECK(error_of(path, "development") == path.string() + ":4: development.tenants.table must be a string");
  }
  SECTION("unset variable") {
    const auto path = knexfile("development:\n  connection: ${MIGRATE_TEST_UNSET}\n");
    CHECK(error_of(path, "development") ==
          path.string() + ":2: development.connection: environment variable MIGRATE_TEST_UNSET is not set");
  }
  // Found by tests/fuzz/knexfile.cpp: yaml-cpp's own conversion error escaped, exit 1 without the file.
  SECTION("a list or a mapping used as a key") {
    const auto path = knexfile("development:\n  connection: x\n  ? [a, b]\n  : c\n");
    CHECK(error_of(path, "development") ==
          path.string() + ":3: development: a list or a mapping is used as a key; keys are names");
    const auto nested = knexfile("development:\n  connection: x\n  run:\n    {a: 1}: 2\n");
    CHECK(error_of(nested, "development") ==
          nested.string() + ":4: development.run: a list or a mapping is used as a key; keys are names");
    const auto top = knexfile("? [a]\n: b\ntest:\n  connection: x\n");
    CHECK(error_of(top, "development") == top.string() + ": no environment 'development' (it has: test)");
  }
  SECTION("no file") {
    CHECK_THAT(error_of("/nonexistent/knexfile.yaml", "development"), Catch::Contains("no such file"));
  }
}

TEST_CASE("the knex mapping form of connection becomes a conninfo string", "[config]") {
  const auto path = knexfile(
      "development:\n  connection:\n    host: db\n    port: 5433\n    user: app\n    password: \"it's\"\n    database: "
      "platform\n");
  CHECK(load_settings(path, "development").central_connection ==
        "host='db' port='5433' user='app' password='it\\'s' dbname='platform'");
}

TEST_CASE("a quoted value not closed before the end of the file is malformed YAML, at the line of its quote",
          "[config]") {
  // yaml-cpp 0.7 accepts these, gluing the following lines into the value.
  SECTION("double quote") {
    const auto path =
        knexfile("development:\n  client: pg\n  connection: \"postgresql://a@b/c\n  migrations:\n    directory: m\n");
    CHECK(error_of(path, "development") == path.string() + ":3: malformed YAML: a double-quoted value is not closed");
  }
  SECTION("single quote") {
    const auto path = knexfile("development:\n  connection: x\n  tenants:\n    table: 'platform.tenants\n");
    CHECK(error_of(path, "development") == path.string() + ":4: malformed YAML: a single-quoted value is not closed");
  }
  SECTION("in another environment, after a tag") {
    const auto path = knexfile("development:\n  connection: x\nproduction:\n  connection: !!str \"host=db\n");
    CHECK(error_of(path, "development") == path.string() + ":4: malformed YAML: a double-quoted value is not closed");
  }
  SECTION("a quoted key") {
    const auto path = knexfile("development:\n  connection: x\n  \"run:\n    concurrency: 2\n");
    CHECK(error_of(path, "development") == path.string() + ":3: malformed YAML: a double-quoted value is not closed");
  }
}

TEST_CASE("closed quoted values over several lines, with escaped quotes, still load", "[config]") {
  const auto path = knexfile(
      "\xef\xbb\xbf"
      "development:\n  connection: \"host=db\n    dbname=\\\"p\\\"\"\n  tenants:\n    table: 'it''s'\n"
      "  migrations: {tableName: \"t\", directory: 'm'}\n");
  const auto settings = load_settings(path, "development");
  CHECK(settings.central_connection == "host=db dbname=\"p\"");
  CHECK(settings.tenants_table == "it's");
  CHECK(settings.tenant_migrations.table_name == "t");
}

TEST_CASE("a tableName with a dot is refused: knex would read it as schema.table", "[config]") {
  SECTION("migrations") {
    const auto path =
        knexfile("development:\n  connection: x\n  migrations:\n    tableName: platform.knex_migrations\n");
    CHECK(error_of(path, "development") ==
          path.string() +
              ":4: development.migrations.tableName must not contain a dot: knex reads 'platform.knex_migrations' as "
              "table knex_migrations in schema platform, and schema-qualified ledgers (schemaName) are not supported");
  }
  SECTION("central") {
    const auto path = knexfile("production:\n  connection: x\n  central:\n    directory: c\n    tableName: a.b\n");
    CHECK(error_of(path, "production") ==
          path.string() +
              ":5: production.central.tableName must not contain a dot: knex reads 'a.b' as table b in schema a, and "
              "schema-qualified ledgers (schemaName) are not supported");
  }
}

TEST_CASE("ssl in the mapping form of connection becomes the sslmode and certificate paths of libpq", "[config]") {
  const auto conninfo = [](const std::string& ssl_lines) {
    const auto path = knexfile("development:\n  connection:\n    host: db\n    database: platform\n" + ssl_lines);
    return std::make_pair(load_settings(path, "development").central_connection, path.parent_path().string());
  };
  SECTION("true requires TLS") {
    CHECK(conninfo("    ssl: true\n").first == "host='db' dbname='platform' sslmode='require'");
  }
  SECTION("false turns TLS off") {
    CHECK(conninfo("    ssl: false\n").first == "host='db' dbname='platform' sslmode='disable'");
  }
  SECTION("rejectUnauthorized false requires TLS without checking the certificate") {
    CHECK(conninfo("    ssl:\n      rejectUnauthorized: false\n").first ==
          "host='db' dbname='platform' sslmode='require'");
  }
  SECTION("a mapping checks the certificate and host name against the system CAs") {
    CHECK(conninfo("    ssl: {}\n").first ==
          "host='db' dbname='platform' sslmode='verify-full' sslrootcert='/etc/ssl/certs/ca-certificates.crt'");
    CHECK(conninfo("    ssl:\n      rejectUnauthorized: true\n").first ==
          "host='db' dbname='platform' sslmode='verify-full' sslrootcert='/etc/ssl/certs/ca-certificates.crt'");
  }
  SECTION("ca, cert and key are files, relative to the knexfile's folder") {
    const auto [text, dir] = conninfo(
        "    ssl:\n      rejectUnauthorized: true\n      ca: tls/ca.crt\n      cert: /etc/client.crt\n"
        "      key: tls/client.key\n");
    CHECK(text == "host='db' dbname='platform' sslmode='verify-full' sslrootcert='" + dir +
                      "/tls/ca.crt' sslcert='/etc/client.crt' sslkey='" + dir + "/tls/client.key'");
  }
  SECTION("a client certificate without checking the server's") {
    const auto [text, dir] = conninfo("    ssl: {rejectUnauthorized: false, cert: c.crt, key: c.key}\n");
    CHECK(text ==
          "host='db' dbname='platform' sslmode='require' sslcert='" + dir + "/c.crt' sslkey='" + dir + "/c.key'");
  }
}

TEST_CASE("an ssl setting that is not understood is refused naming file, line and key", "[config]") {
  const auto error = [](const std::string& ssl_lines) {
    const auto path = knexfile("development:\n  connection:\n    host: db\n" + ssl_lines);
    return std::make_pair(error_of(path, "development"), path.string());
  };
  SECTION("an unknown key") {
    const auto [message, file] = error("    ssl:\n      ca: ca.crt\n      servername: db.internal\n");
    CHECK(message == file +
                         ":6: development.connection.ssl.servername is not a known key (known: ca, cert, key, "
                         "rejectUnauthorized)");
  }
  SECTION("one of knex's own keys is not ignored under ssl") {
    const auto [message, file] = error("    ssl: {pool: 1}\n");
    CHECK(message == file +
                         ":4: development.connection.ssl.pool is not a known key (known: ca, cert, key, "
                         "rejectUnauthorized)");
  }
  SECTION("neither a boolean nor a mapping") {
    for (const std::string value : {"yes", "\"true\"", "[true]"}) {
      const auto [message, file] = error("    ssl: " + value + "\n");
      CHECK(message == file +
                           ":4: development.connection.ssl must be true, false or a mapping (ca, cert, key, "
                           "rejectUnauthorized)");
    }
  }
  SECTION("rejectUnauthorized not a boolean") {
    const auto [message, file] = error("    ssl:\n      rejectUnauthorized: 'false'\n");
    CHECK(message == file + ":5: development.connection.ssl.rejectUnauthorized must be true or false");
  }
  SECTION("a path that is not a string") {
    const auto [message, file] = error("    ssl:\n      ca: [a.crt, b.crt]\n");
    CHECK(message == file + ":5: development.connection.ssl.ca must be a string");
  }
}

TEST_CASE("without run, retry and central blocks the defaults of the README apply", "[config]") {
  const auto path = knexfile("development:\n  connection: host=db\n");
  const auto settings = load_settings(path, "development");
  CHECK(settings.knexfile == fs::absolute(path));
  CHECK(settings.environment == "development");
  CHECK(settings.tenant_migrations.directory == path.parent_path() / "migrations/tenant");
  CHECK(settings.tenant_migrations.table_name == "knex_migrations");
  CHECK(settings.central_migrations.directory == path.parent_path() / "migrations/central");
  CHECK(settings.central_migrations.table_name == "knex_migrations");
  CHECK(settings.tenants_table == "tenants");
  CHECK(settings.concurrency == 8);
  CHECK(settings.per_host == 0);
  CHECK(settings.lock_wait == std::chrono::seconds(60));
  CHECK(settings.connect_timeout == std::chrono::seconds(10));
  CHECK(settings.lock_timeout == std::chrono::milliseconds(5000));
  CHECK(settings.statement_timeout == std::chrono::milliseconds(0));
  CHECK(settings.retry.attempts == 5);
  CHECK(settings.retry.initial_delay == std::chrono::milliseconds(250));
  CHECK(settings.retry.max_delay == std::chrono::milliseconds(5000));
}

TEST_CASE("every run and retry setting of the example in the README is read", "[config]") {
  const auto path = knexfile(
      "production:\n  connection: host=db\n  central:\n    directory: db/central\n    tableName: central_ledger\n"
      "  run:\n    concurrency: 16\n    perHost: 8\n    lockWaitSeconds: 120\n    connectTimeoutSeconds: 3\n"
      "    lockTimeoutMs: 3000\n    statementTimeoutMs: 600000\n"
      "  retry:\n    attempts: 6\n    initialDelayMs: 500\n    maxDelayMs: 10000\n");
  const auto settings = load_settings(path, "production");
  CHECK(settings.central_migrations.directory == path.parent_path() / "db/central");
  CHECK(settings.central_migrations.table_name == "central_ledger");
  CHECK(settings.concurrency == 16);
  CHECK(settings.per_host == 8);
  CHECK(settings.lock_wait == std::chrono::seconds(120));
  CHECK(settings.connect_timeout == std::chrono::seconds(3));
  CHECK(settings.lock_timeout == std::chrono::milliseconds(3000));
  CHECK(settings.statement_timeout == std::chrono::milliseconds(600000));
  CHECK(settings.retry.attempts == 6);
  CHECK(settings.retry.initial_delay == std::chrono::milliseconds(500));
  CHECK(settings.retry.max_delay == std::chrono::milliseconds(10000));
}

TEST_CASE("NAME in dollar braces is expanded in every kind of value, the mapping form of connection included",
          "[config]") {
  ::setenv("MIGRATE_TEST_HOST", "db.internal", 1);
  ::setenv("MIGRATE_TEST_PORT", "5433", 1);
  ::setenv("MIGRATE_TEST_PASSWORD", "s3cret", 1);
  ::setenv("MIGRATE_TEST_NAME", "platform", 1);
  ::setenv("MIGRATE_TEST_NUMBER", "7", 1);
  const auto path = knexfile(
      "development:\n"
      "  connection:\n"
      "    host: ${MIGRATE_TEST_HOST}\n"
      "    port: ${MIGRATE_TEST_PORT}\n"
      "    user: app_${MIGRATE_TEST_NAME}\n"
      "    password: ${MIGRATE_TEST_PASSWORD}\n"
      "    database: ${MIGRATE_TEST_NAME}\n"
      "    ssl:\n"
      "      ca: certs/${MIGRATE_TEST_NAME}.crt\n"
      "  migrations:\n"
      "    directory: ${MIGRATE_TEST_NAME}/tenant\n"
      "    tableName: ${MIGRATE_TEST_NAME}_migrations\n"
      "  central:\n"
      "    directory: ${MIGRATE_TEST_NAME}/central\n"
      "  tenants:\n"
      "    table: ${MIGRATE_TEST_NAME}.tenants\n"
      "  run:\n"
      "    concurrency: ${MIGRATE_TEST_NUMBER}\n"
      "    perHost: ${MIGRATE_TEST_NUMBER}\n"
      "    lockWaitSeconds: ${MIGRATE_TEST_NUMBER}\n"
      "    connectTimeoutSeconds: ${MIGRATE_TEST_NUMBER}\n"
      "  retry:\n"
      "    attempts: ${MIGRATE_TEST_NUMBER}\n"
      "    initialDelayMs: ${MIGRATE_TEST_NUMBER}00\n"
      "    maxDelayMs: ${MIGRATE_TEST_NUMBER}000\n");
  const auto settings = load_settings(path, "development");
  const auto dir = path.parent_path();
  CHECK(settings.central_connection ==
        "host='db.internal' port='5433' user='app_platform' password='s3cret' dbname='platform' "
        "sslmode='verify-full' sslrootcert='" +
            (dir / "certs/platform.crt").string() + "'");
  CHECK(settings.tenant_migrations.directory == dir / "platform/tenant");
  CHECK(settings.tenant_migrations.table_name == "platform_migrations");
  CHECK(settings.central_migrations.directory == dir / "platform/central");
  CHECK(settings.tenants_table == "platform.tenants");
  CHECK(settings.concurrency == 7);
  CHECK(settings.per_host == 7);
  CHECK(settings.lock_wait == std::chrono::seconds(7));
  CHECK(settings.connect_timeout == std::chrono::seconds(7));
  CHECK(settings.retry.attempts == 7);
  CHECK(settings.retry.initial_delay == std::chrono::milliseconds(700));
  CHECK(settings.retry.max_delay == std::chrono::milliseconds(7000));
}

TEST_CASE("the keys of knex itself are accepted and ignored: the settings are those of the file without them",
          "[config]") {
  const std::string ours =
      "  connection: host=db dbname=platform\n"
      "  migrations:\n"
      "    directory: db/migrations\n"
      "    tableName: knex_migrations\n";
  const auto plain = load_settings(knexfile("development:\n" + ours), "development");
  const auto shared = load_settings(knexfile("development:\n"
                                             "  client: pg\n" +
                                             ours +
                                             "    extension: sql\n"
                                             "    loadExtensions: ['.sql']\n"
                                             "  pool:\n    min: 0\n    max: 7\n"
                                             "  seeds:\n    directory: db/seeds\n"
                                             "  debug: false\n"
                                             "  useNullAsDefault: true\n"
                                             "  acquireConnectionTimeout: 60000\n"
                                             "  searchPath: [public, extra]\n"
                                             "  asyncStackTraces: true\n"),
                                    "development");
  CHECK(shared.central_connection == plain.central_connection);
  CHECK(shared.tenant_migrations.directory.filename() == "migrations");
  CHECK(shared.tenant_migrations.table_name == plain.tenant_migrations.table_name);
  CHECK(shared.tenants_table == plain.tenants_table);
  CHECK(shared.concurrency == plain.concurrency);
  CHECK(shared.per_host == plain.per_host);
  CHECK(shared.connect_timeout == plain.connect_timeout);
  CHECK(shared.retry.attempts == plain.retry.attempts);
}

TEST_CASE("the version key of knex and its migration-file keys are accepted and ignored", "[config]") {
  const auto path = knexfile(
      "development:\n  client: pg\n  version: '15.4'\n  connection: x\n  migrations:\n    directory: m\n"
      "    stub: stub.js\n    sortDirsSeparately: true\n    disableMigrationsListValidation: false\n");
  const auto settings = load_settings(path, "development");
  CHECK(settings.central_connection == "x");
  CHECK(settings.tenant_migrations.directory.filename() == "m");
}

TEST_CASE("migrations.legacyExtensions lists the extensions of knex ledger rows matched to .sql files", "[config]") {
  const auto defaults = load_settings(knexfile("development:\n  connection: x\n"), "development");
  CHECK(defaults.tenant_migrations.legacy_extensions == std::vector<std::string>{".js", ".ts", ".cjs", ".mjs"});
  CHECK(defaults.central_migrations.legacy_extensions == defaults.tenant_migrations.legacy_extensions);
  const auto off = load_settings(knexfile("development:\n  connection: x\n  migrations:\n    legacyExtensions: []\n"),
                                 "development");
  CHECK(off.tenant_migrations.legacy_extensions.empty());
  const auto js = load_settings(
      knexfile("development:\n  connection: x\n  migrations:\n    legacyExtensions: [.js, .cjs]\n"), "development");
  CHECK(js.tenant_migrations.legacy_extensions == std::vector<std::string>{".js", ".cjs"});
  SECTION("not a list") {
    const auto path = knexfile("development:\n  connection: x\n  migrations:\n    legacyExtensions: .js\n");
    CHECK(error_of(path, "development") ==
          path.string() + ":4: development.migrations.legacyExtensions must be a list of extensions such as .js");
  }
  SECTION("an extension without its dot, or .sql") {
    for (const std::string bad : {"js", ".sql", ".SQL", ".Sql", ".a b", "."}) {
      const auto path =
          knexfile("development:\n  connection: x\n  migrations:\n    legacyExtensions: ['" + bad + "']\n");
      CHECK(error_of(path, "development") ==
            path.string() + ":4: development.migrations.legacyExtensions: '" + bad +
                "' is not an extension such as .js (a dot, then letters and digits; not .sql)");
    }
  }
}

// A knexfile may put a secret in any value through a variable; a value refused after expansion is
// named by what the file says, never by what the variable holds.
TEST_CASE("a value refused after NAME in dollar braces is expanded is shown as written, not as the secret it holds",
          "[config]") {
  const std::string secret = "s3cret-Pa55word";
  ::setenv("MIGRATE_TEST_SECRET", secret.c_str(), 1);
  const std::string base = "development:\n  connection: postgresql://localhost/platform\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {base + "  run:\n    concurrency: ${MIGRATE_TEST_SECRET}\n", "run.concurrency"},
      {base + "  retry:\n    maxDelayMs: \"1${MIGRATE_TEST_SECRET}\"\n", "retry.maxDelayMs"},
      {base + "  run:\n    lockTimeoutMs: ${MIGRATE_TEST_SECRET}\n", "run.lockTimeoutMs"},
      {base + "  migrations:\n    tableName: x.${MIGRATE_TEST_SECRET}\n", "migrations.tableName"},
      {base + "  migrations:\n    legacyExtensions: [\"${MIGRATE_TEST_SECRET}\"]\n", "migrations.legacyExtensions"},
  };
  for (const auto& [text, key] : cases) {
    const auto error = error_of(knexfile(text), "development");
    INFO(text);
    CHECK_THAT(error, Catch::Contains(key) && Catch::Contains("${MIGRATE_TEST_SECRET}"));
    CHECK_THAT(error, !Catch::Contains(secret) && !Catch::Contains("Pa55"));
  }
}

TEST_CASE("servers: each server has an admin connection, tenant host and port, and name patterns", "[config]") {
  ::setenv("MIGRATE_TEST_ADMIN_PW", "s3cret", 1);
  const auto path = knexfile(
      "production:\n"
      "  connection: host=central\n"
      "  servers:\n"
      "    main:\n"
      "      connection: postgresql://admin:${MIGRATE_TEST_ADMIN_PW}@db1:5432/postgres\n"
      "    eu:\n"
      "      connection:\n"
      "        host: db2\n"
      "        user: admin\n"
      "      host: db2.internal\n"
      "      port: 6432\n"
      "      databaseName: t_{slug}\n"
      "      roleName: \"{slug}_owner\"\n");
  const auto settings = load_settings(path, "production");
  REQUIRE(settings.servers.size() == 2);
  CHECK(settings.servers[0].name == "main");
  CHECK(settings.servers[0].admin_connection == "postgresql://admin:s3cret@db1:5432/postgres");
  CHECK(settings.servers[0].database_name == "tenant_{slug}");
  CHECK(settings.servers[0].role_name == "tenant_{slug}");
  CHECK(settings.servers[0].port == 0);
  CHECK(settings.servers[1].name == "eu");
  CHECK(settings.servers[1].admin_connection == "host='db2' user='admin'");
  CHECK(settings.servers[1].host == "db2.internal");
  CHECK(settings.servers[1].port == 6432);
  CHECK(settings.servers[1].database_name == "t_{slug}");
  CHECK(settings.servers[1].role_name == "{slug}_owner");
}

TEST_CASE("servers: a missing connection, a pattern without the slug placeholder, an unknown key are refused by name",
          "[config]") {
  const auto base = std::string("production:\n  connection: host=central\n  servers:\n    main:\n");
  CHECK_THAT(error_of(knexfile(base + "      host: db1\n"), "production"),
             Catch::Contains("production.servers.main.connection is missing"));
  CHECK_THAT(error_of(knexfile(base + "      connection: host=db1\n      databaseName: tenants\n"), "production"),
             Catch::Contains("servers.main.databaseName must contain {slug}"));
  CHECK_THAT(error_of(knexfile(base + "      connection: host=db1\n      user: x\n"), "production"),
             Catch::Contains("servers.main.user is not a known key"));
  CHECK_THAT(error_of(knexfile(base + "      connection:\n        password: p\n        sslmode: x\n"), "production"),
             Catch::Contains("servers.main.connection.sslmode is not a known key"));
}

TEST_CASE("encryption.format is cbc by default, v2 when asked, and anything else is refused naming it", "[config]") {
  const auto plain = knexfile("development:\n  connection: x\n");
  CHECK(load_settings(plain, "development").encryption_format == EncryptionFormat::cbc);
  const auto v2 = knexfile("development:\n  connection: x\n  encryption:\n    format: v2\n");
  CHECK(load_settings(v2, "development").encryption_format == EncryptionFormat::v2);
  CHECK(read_encryption_format(v2, "development", true) == EncryptionFormat::v2);
  const auto bad = knexfile("development:\n  connection: x\n  encryption:\n    format: V2\n");
  const std::string message = bad.string() +
                              ":4: development.encryption.format is 'V2', not a known format: cbc (AES-256-CBC, "
                              "what Node code of existing fleets reads) or v2 (AES-256-GCM, authenticated)";
  CHECK(error_of(bad, "development") == message);
  CHECK_THROWS_WITH(read_encryption_format(bad, "development", false), message);
}

TEST_CASE("read_encryption_format reads that key alone, and no knexfile means cbc unless one was named", "[config]") {
  // The rest of the block would not load (an unset variable, an unknown key): it is not read.
  const auto path =
      knexfile("development:\n  connection: ${MIGRATE_TEST_NEVER_SET}\n  nonsense: 1\n  encryption:\n    format: v2\n");
  CHECK(read_encryption_format(path, "development", true) == EncryptionFormat::v2);
  const auto missing = path.parent_path() / "no-such-knexfile.yaml";
  CHECK(read_encryption_format(missing, "development", false) == EncryptionFormat::cbc);
  CHECK_THROWS_AS(read_encryption_format(missing, "development", true), InputError);
  CHECK_THROWS_WITH(read_encryption_format(path, "staging", false),
                    path.string() + ": no environment 'staging' (it has: development)");
}
