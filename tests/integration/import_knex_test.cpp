// tools/import-knex: knex migrations converted into .sql files, checked against knex itself. The
// converted files are applied by migrate to one database and the originals by knex's own migrator
// to another; their pg_dump --schema-only must be the same, and migrate's rollback must give back
// an empty database's.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "support/cluster.hpp"
#include "support/fleet.hpp"
#include "support/process.hpp"
#include "support/server_log.hpp"
#include "support/wait.hpp"

namespace fs = std::filesystem;
using support::TestFleet;

namespace {

const std::string source_root = MIGRATE_SOURCE_DIR;
const std::string tool_dir = source_root + "/tools/import-knex";
const std::string bench_migrations = source_root + "/bench/knex/migrations";
const std::string builder_fixtures = source_root + "/tests/fixtures/knex-schema-builder";
const std::string pg_bin = "/usr/lib/postgresql/15/bin";

std::vector<std::string> tool_argv(const std::vector<std::string>& args) {
  if (!fs::exists(tool_dir + "/node_modules/knex"))
    FAIL("knex is not installed for import-knex: scripts/test.sh runs `npm ci` in tools/import-knex");
  std::vector<std::string> argv = {"/usr/bin/env", "node", tool_dir + "/import-knex.js"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// Runs import-knex to its end. `env` goes on top of the test's own (the cluster's PG* variables).
support::ProcessResult import_knex(const std::vector<std::string>& args,
                                   const std::map<std::string, std::string>& env = {}) {
  return support::run(tool_argv(args), env);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The migration files of a knex folder, sorted.
std::vector<std::string> knex_files(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".js") names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  if (!fs::exists(dir)) return names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("import-knex-test-" + support::unique_name("d"))) {
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path_ / name) << text; }

 private:
  fs::path path_;
};

// A login role with CREATEDB of this test alone: the databases import-knex makes as this role can
// be counted whatever else runs on the cluster at the same time.
struct Role {
  std::string name;
  std::string password;
  std::map<std::string, std::string> env() const { return {{"PGUSER", name}, {"PGPASSWORD", password}}; }
};

Role make_role() {
  Role role{support::unique_name("ik"), "pw-" + support::unique_name("secret")};
  support::admin_exec("CREATE ROLE \"" + role.name + "\" LOGIN CREATEDB PASSWORD '" + role.password + "'");
  return role;
}

int databases_owned_by(const Role& role) {
  pqxx::connection db(support::admin_conninfo());
  pqxx::nontransaction tx(db);
  return tx
      .exec_params("SELECT count(*) FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = $1",
                   role.name)[0][0]
      .as<int>();
}

bool database_exists(const std::string& name) {
  pqxx::connection db(support::admin_conninfo());
  pqxx::nontransaction tx(db);
  return tx.exec_params("SELECT count(*) FROM pg_database WHERE datname = $1", name)[0][0].as<int>() == 1;
}

// The scratch database import-knex names in its first line; empty when it names none.
std::string scratch_name(const std::string& output) {
  std::smatch match;
  return std::regex_search(output, match, std::regex("scratch database (import_knex_[0-9a-f]{12}) on "))
             ? match[1].str()
             : "";
}

// pg_dump's lines \restrict and \unrestrict carry a random key of each run: left out.
std::string without_restrict_lines(const std::string& dump) {
  std::istringstream lines(dump);
  std::string kept;
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("\\restrict", 0) != 0 && line.rfind("\\unrestrict", 0) != 0) kept += line + "\n";
  return kept;
}

// `db`'s schema as pg_dump --schema-only writes it, without owners and privileges (each side has
// its own role) and without the ledger tables and their sequences.
std::string schema_dump(const std::string& db) {
  const auto result = support::run({pg_bin + "/pg_dump", "--schema-only", "--no-owner", "--no-privileges",
                                    "--exclude-table=knex_migrations*", "--dbname", db});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return without_restrict_lines(result.out);
}

std::string data_dump(const std::string& db, const std::string& table) {
  const auto result =
      support::run({pg_bin + "/pg_dump", "--data-only", "--no-owner", "--table", table, "--dbname", db});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return without_restrict_lines(result.out);
}

// knex's own migrator (knex.migrate.latest, the knex that import-knex installs) applies `dir` to
// `tenant`'s database as the tenant's role.
void knex_latest(const support::Tenant& tenant, const std::string& dir) {
  const std::string script = R"(
    const knex = require(process.env.KNEX_MODULE)({ client: 'pg', connection: { database: process.argv[1] } });
    knex.migrate.latest({ directory: process.argv[2] })
      .then(([batch, names]) => { process.stdout.write(JSON.stringify({ batch, names })); return knex.destroy(); })
      .catch((error) => { console.error(error.message); process.exit(1); });)";
  const auto result = support::run(
      {"/usr/bin/env", "node", "-e", script, tenant.db, dir},
      {{"KNEX_MODULE", tool_dir + "/node_modules/knex"}, {"PGUSER", tenant.role}, {"PGPASSWORD", tenant.password}});
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
}

// Converts `source` into a fleet's migrations folder; then migrate applies the .sql files to one
// tenant and knex the originals to another, and their schemas must be the same; then migrate rolls
// every batch back, which must leave the schema of an empty database. Returns the conversion's output.
support::ProcessResult convert_and_compare(const std::string& source, const std::string& must_be_in_dump) {
  TestFleet fleet;
  const auto converted = fleet.add_tenant("converted");
  const auto by_knex = fleet.add_tenant("by-knex");
  const auto empty = fleet.add_tenant("empty");
  fs::remove_all(fleet.migrations_dir());  // import-knex makes the folder it writes to

  auto result = import_knex({source, "--out", fleet.migrations_dir().string()});
  INFO(result.all());
  REQUIRE(result.exit_code == 0);
  const auto originals = knex_files(source);
  std::vector<std::string> expected;
  for (const auto& name : originals) expected.push_back(name.substr(0, name.size() - 3) + ".sql");
  REQUIRE(files_in(fleet.migrations_dir()) == expected);
  CHECK_THAT(result.out, Catch::Contains("Wrote " + std::to_string(originals.size()) + " files to "));
  CHECK_FALSE(database_exists(scratch_name(result.out)));

  const auto applied = fleet.migrate({"tenant", "converted"});
  INFO(applied.all());
  REQUIRE(applied.exit_code == 0);
  knex_latest(by_knex, source);
  const auto migrate_schema = schema_dump(converted.db);
  CHECK_THAT(migrate_schema, Catch::Contains(must_be_in_dump));
  CHECK(migrate_schema == schema_dump(by_knex.db));

  const auto rolled_back = fleet.migrate({"rollback", "--tenant", "converted", "--all"});
  INFO(rolled_back.all());
  REQUIRE(rolled_back.exit_code == 0);
  CHECK(schema_dump(converted.db) == schema_dump(empty.db));
  return result;
}

// A TCP port that takes connections and never answers, to see whether a program connected at all.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t size = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }
  // Connections made so far (each stays queued until accepted, even once its client is gone).
  int connections() {
    for (int client; (client = ::accept(fd_, nullptr, nullptr)) >= 0;) {
      ::close(client);
      ++count_;
    }
    return count_;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  int count_ = 0;
};

const std::string create_table_a =
    "exports.up = (knex) => knex.schema.createTable('a', (t) => { t.increments(); t.string('name'); });\n"
    "exports.down = (knex) => knex.schema.dropTable('a');\n";

}  // namespace

TEST_CASE(
    "import_knex: the 25 bench knex migrations convert to .sql files with which migrate builds the schema "
    "knex builds, and rollback undoes them all",
    "[integration][import_knex]") {
  const auto result = convert_and_compare(bench_migrations, "CREATE TABLE public.opportunities");
  for (const auto& name : knex_files(bench_migrations))
    CHECK_THAT(result.out, Catch::Contains("converted      " + name));
  CHECK_THAT(result.out, Catch::Contains("25 converted, 0 need review"));
}

TEST_CASE(
    "import_knex: schema builder migrations as teams write them convert to the schema knex builds, reads "
    "are listed for review, transaction false is kept",
    "[integration][import_knex]") {
  TestFleet data_check;  // a second pair of databases, for the rows the seed migration writes
  const auto result = convert_and_compare(builder_fixtures, "CREATE TABLE public.field_definitions");
  const std::vector<std::string> for_review = {"20250126000011_add_user_settings.js",
                                               "20250126000012_backfill_record_titles.js"};
  for (const auto& name : knex_files(builder_fixtures)) {
    const bool review = std::find(for_review.begin(), for_review.end(), name) != for_review.end();
    CHECK_THAT(result.out,
               Catch::Contains((review ? "needs review   " : "converted      ") + name + (review ? ": " : "\n")));
  }
  CHECK_THAT(result.out, Catch::Contains("10 converted, 2 need review"));
  CHECK_THAT(result.out, Catch::Contains("\n  20250126000011_add_user_settings.sql: branches on the schema: "
                                         "hasColumn('users', 'settings') was false on the scratch database"));
  CHECK_THAT(result.out, Catch::Contains("\n  20250126000012_backfill_record_titles.sql: reads data"));

  // The files themselves, and the seed rows (quotes and backslashes in bound values) row for row.
  TempDir out;
  const auto again = import_knex({builder_fixtures, "--out", out.str()});
  REQUIRE(again.exit_code == 0);
  const auto index_file = read_file(out.path() / "20250126000009_index_records_concurrently.sql");
  CHECK_THAT(index_file, Catch::StartsWith("-- Converted from 20250126000009_index_records_concurrently.js by "
                                           "import-knex on "));
  CHECK_THAT(index_file, Catch::Contains("\n-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "
                                         "idx_records_created_at ON records (created_at);\n"));
  CHECK_THAT(index_file, Catch::Contains("\n-- migrate:down transaction:false\n"));
  CHECK_THAT(read_file(out.path() / "20250126000012_backfill_record_titles.sql"),
             Catch::Contains("\n-- REVIEW: reads data (the scratch database had only what earlier migrations wrote): "
                             "select \"id\", \"data\" from \"records\"\n-- migrate:up\n"));
  CHECK(read_file(out.path() / "20250126000005_add_custom_fields.sql").find("REVIEW") == std::string::npos);

  const auto converted = data_check.add_tenant("converted");
  const auto by_knex = data_check.add_tenant("by-knex");
  for (const auto& name : files_in(out.path())) fs::copy_file(out.path() / name, data_check.migrations_dir() / name);
  REQUIRE(data_check.migrate({"tenant", "converted"}).exit_code == 0);
  knex_latest(by_knex, builder_fixtures);
  const auto roles = data_dump(converted.db, "roles");
  CHECK_THAT(roles, Catch::Contains("Reads C:\\\\audit\\\\logs; 100% \"trusted\""));
  CHECK(roles == data_dump(by_knex.db, "roles"));
}

TEST_CASE(
    "import_knex: an existing .sql file is never overwritten without --force, and the refusal touches no "
    "database",
    "[integration][import_knex]") {
  const auto role = make_role();
  TempDir out;
  const std::string mine = "-- migrate:up\nSELECT 'mine';\n";
  out.write("20250126000003_create_field_definitions.sql", mine);

  auto env = role.env();
  const auto refused = import_knex({builder_fixtures, "--out", out.str()}, env);
  INFO(refused.all());
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("refusing to overwrite " +
                                          (out.path() / "20250126000003_create_field_definitions.sql").string() +
                                          " (pass --force to replace them); nothing was done"));
  CHECK(refused.out.empty());
  CHECK(read_file(out.path() / "20250126000003_create_field_definitions.sql") == mine);
  CHECK(files_in(out.path()).size() == 1);
  CHECK(databases_owned_by(role) == 0);

  // Against a port that takes connections and never answers: nothing even tried to connect.
  SilentListener listener;
  env["PGPORT"] = std::to_string(listener.port());
  const auto refused_again = import_knex({builder_fixtures, "--out", out.str()}, env);
  CHECK(refused_again.exit_code == 2);
  CHECK(listener.connections() == 0);

  const auto forced = import_knex({builder_fixtures, "--out", out.str(), "--force"}, role.env());
  INFO(forced.all());
  CHECK(forced.exit_code == 0);
  CHECK_THAT(read_file(out.path() / "20250126000003_create_field_definitions.sql"),
             Catch::StartsWith("-- Converted from 20250126000003_create_field_definitions.js by import-knex on "));
  CHECK(files_in(out.path()).size() == knex_files(builder_fixtures).size());
  const auto scratch = scratch_name(forced.out);
  CHECK_THAT(scratch, Catch::StartsWith("import_knex_"));
  CHECK_FALSE(database_exists(scratch));
  CHECK(databases_owned_by(role) == 0);
}

TEST_CASE(
    "import_knex: a migration whose up fails stops the run with exit 1 naming it, writes nothing and drops "
    "the scratch database",
    "[integration][import_knex]") {
  const auto role = make_role();
  TempDir source;
  TempDir out;
  source.write("20250101000001_create_a.js", create_table_a);
  source.write("20250101000002_broken.js",
               "exports.up = (knex) => knex.raw('SELECT * FROM no_such_table');\nexports.down = async () => {};\n");
  source.write("20250101000003_create_b.js",
               "exports.up = (knex) => knex.schema.createTable('b', (t) => t.increments());\n"
               "exports.down = (knex) => knex.schema.dropTable('b');\n");
  const auto result = import_knex({source.str(), "--out", (out.path() / "sql").string()}, role.env());
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out,
             Catch::Contains("converted      20250101000001_create_a.js\n"
                             "FAILED         20250101000002_broken.js: up fails: relation \"no_such_table\" "
                             "does not exist\n"));
  CHECK_THAT(result.out, Catch::Contains("Stopped at 20250101000002_broken.js: nothing was written."));
  CHECK(result.out.find("20250101000003_create_b.js") == std::string::npos);
  CHECK_FALSE(fs::exists(out.path() / "sql"));
  const auto scratch = scratch_name(result.out);
  CHECK_THAT(scratch, Catch::StartsWith("import_knex_"));
  CHECK_FALSE(database_exists(scratch));
  CHECK(databases_owned_by(role) == 0);
}

TEST_CASE(
    "import_knex: a down that does not undo its up, an up with no SQL and a TypeScript file are listed, "
    "the rest written",
    "[integration][import_knex]") {
  const auto role = make_role();
  TempDir source;
  TempDir out;
  source.write("20250101000001_create_a.js",
               "exports.up = (knex) => knex.schema.createTable('a', (t) => { t.increments(); });\n"
               "exports.down = async () => {};\n");
  source.write("20250101000002_nothing.js", "exports.up = async () => {};\nexports.down = async () => {};\n");
  source.write("20250101000003_typed.ts", "export async function up(): Promise<void> {}\n");
  source.write("20250101000004_add_b.js",
               "exports.up = (knex) => knex.schema.table('a', (t) => { t.text('b'); t.text('c'); });\n"
               "exports.down = (knex) => knex.schema.table('a', (t) => { t.dropColumn('b'); });\n");
  const auto result = import_knex({source.str(), "--out", out.str()}, role.env());
  INFO(result.all());
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.out, Catch::Contains("needs review   20250101000001_create_a.js: down runs no SQL; down does not "
                                         "undo up: left behind: column public.a.id integer not null default "
                                         "nextval('a_id_seq'::regclass); "));
  CHECK_THAT(result.out, Catch::Contains("needs review   20250101000002_nothing.js: up runs no SQL"));
  CHECK_THAT(result.out, Catch::Contains("not converted  20250101000003_typed.ts: TypeScript is not loaded"));
  CHECK_THAT(result.out, Catch::Contains("needs review   20250101000004_add_b.js: down does not undo up: left behind: "
                                         "column public.a.c text; up fails when run again after down: column \"c\" "
                                         "of relation \"a\" already exists\n"));
  CHECK_THAT(result.out, Catch::Contains("Wrote 3 files to " + out.str() +
                                         ": 0 converted, 3 need review, 1 not "
                                         "converted."));
  CHECK_THAT(result.out, Catch::Contains("Not converted: 20250101000003_typed.ts"));
  CHECK(files_in(out.path()) == std::vector<std::string>{"20250101000001_create_a.sql", "20250101000002_nothing.sql",
                                                         "20250101000004_add_b.sql"});
  const auto nothing = read_file(out.path() / "20250101000002_nothing.sql");
  CHECK_THAT(nothing, Catch::Contains("\n-- REVIEW: up runs no SQL"));
  CHECK_THAT(nothing, Catch::Contains("\n-- migrate:up\n-- knex sent no SQL for up\n"));
  CHECK_FALSE(database_exists(scratch_name(result.out)));
  CHECK(databases_owned_by(role) == 0);
}

TEST_CASE("import_knex: the password of --server never appears in the output, right or wrong",
          "[integration][import_knex]") {
  const auto role = make_role();
  TempDir out;
  const std::string wrong = "wrong-" + support::unique_name("pw");
  const auto url = [&](const std::string& password) {
    return "postgresql://" + role.name + ":" + password + "@" + support::cluster_host() + ":" +
           std::to_string(support::cluster_port()) + "/postgres";
  };
  // libpq's variables point nowhere useful: only the URL can connect.
  const std::map<std::string, std::string> env = {{"PGUSER", "nobody"}, {"PGPASSWORD", ""}, {"PGDATABASE", "nowhere"}};

  const auto refused = import_knex({builder_fixtures, "--out", out.str(), "--server", url(wrong)}, env);
  INFO(refused.all());
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("import-knex: cannot connect to the server: password authentication failed "
                                          "for user \"" +
                                          role.name + "\""));
  CHECK(refused.all().find(wrong) == std::string::npos);
  CHECK(files_in(out.path()).empty());

  const auto converted = import_knex({builder_fixtures, "--out", out.str(), "--server", url(role.password)}, env);
  INFO(converted.all());
  CHECK(converted.exit_code == 0);
  CHECK_THAT(converted.out, Catch::Contains(" as " + role.name + "\n"));
  CHECK(converted.all().find(role.password) == std::string::npos);
  CHECK(databases_owned_by(role) == 0);

  TempDir empty_out;
  const auto bad_url =
      import_knex({builder_fixtures, "--out", empty_out.str(), "--server", "mysql://u:" + wrong + "@h/db"}, env);
  CHECK(bad_url.exit_code == 2);
  CHECK_THAT(bad_url.err, Catch::Contains("--server must be a postgresql:// URL"));
  CHECK(bad_url.all().find(wrong) == std::string::npos);
}

TEST_CASE("import_knex: Ctrl-C in the middle of a migration drops the scratch database and exits 130",
          "[integration][import_knex]") {
  const auto role = make_role();
  TempDir source;
  TempDir out;
  source.write("20250101000001_create_a.js", create_table_a);
  source.write("20250101000002_slow.js",
               "exports.up = (knex) => knex.raw('SELECT pg_sleep(600)');\nexports.down = async () => {};\n");
  support::Process run(tool_argv({source.str(), "--out", out.str()}), role.env());
  support::wait_until("the slow migration running in the scratch database", [&] {
    const auto rows = support::admin_exec("SELECT count(*) FROM pg_stat_activity WHERE usename = '" + role.name +
                                          "' AND query LIKE '%pg_sleep(600)%'");
    return rows[0][0].as<int>() == 1;
  });
  run.signal(SIGINT);
  const auto result = run.wait();
  INFO(result.all());
  CHECK(result.exit_code == 130);
  CHECK_THAT(result.err, Catch::Contains("import-knex: interrupted in 20250101000002_slow.js: dropping the scratch "
                                         "database " +
                                         scratch_name(result.out) + "; nothing was written"));
  CHECK_FALSE(database_exists(scratch_name(result.out)));
  CHECK(databases_owned_by(role) == 0);
  support::wait_until("the sessions of import-knex ended", [&] {
    return support::admin_exec("SELECT count(*) FROM pg_stat_activity WHERE usename = '" + role.name + "'")[0][0]
               .as<int>() == 0;
  });
  CHECK(files_in(out.path()).empty());
}

namespace {

// Everything knex keeps for a tenant: each ledger row as written (id, name, batch, time) and the lock row.
std::string ledger_as_written(const TestFleet& fleet, const support::Tenant& tenant) {
  std::string text;
  for (const auto& row : fleet.query(tenant,
                                     "SELECT id, name, batch, migration_time::text FROM knex_migrations "
                                     "UNION ALL SELECT \"index\", NULL, is_locked, NULL FROM knex_migrations_lock "
                                     "ORDER BY 2 NULLS LAST, 1"))
    text += row[0].as<std::string>() + " " + row[1].as<std::string>("-") + " " + row[2].as<std::string>() + " " +
            row[3].as<std::string>("-") + "\n";
  return text;
}

}  // namespace

// The steps of the README's "Switching from knex scripts", in its order, on a fleet knex migrated.
TEST_CASE(
    "import_knex: switching from knex scripts as the README says: converted, the knex fleet is up to date with "
    "nothing written, a new migration is the next batch, the batch knex wrote rolls back",
    "[integration][import_knex]") {
  TestFleet fleet;
  std::vector<support::Tenant> tenants;
  for (const auto* slug : {"acme-corp", "globex", "initech"}) tenants.push_back(fleet.add_tenant(slug));
  const auto empty = fleet.add_tenant("empty-reference", "suspended");  // never migrated: all-tenants skips it
  for (const auto& tenant : tenants) knex_latest(tenant, builder_fixtures);
  std::vector<std::string> as_knex_left_it;
  for (const auto& tenant : tenants) as_knex_left_it.push_back(ledger_as_written(fleet, tenant));
  const auto first_js = knex_files(builder_fixtures).front();
  REQUIRE_THAT(as_knex_left_it[0], Catch::Contains(" " + first_js + " 1 "));

  // 1. Convert the knex migrations into the migrations folder.
  fs::remove_all(fleet.migrations_dir());
  const auto converted = import_knex({builder_fixtures, "--out", fleet.migrations_dir().string()});
  INFO(converted.all());
  REQUIRE(converted.exit_code == 0);

  // 2. One tenant's status: every migration applied, recorded by knex under its .js name, none pending.
  const auto status = fleet.migrate({"status", "--tenant", "acme-corp"});
  INFO(status.all());
  CHECK(status.exit_code == 0);
  CHECK_THAT(status.out, Catch::Contains(", recorded by knex as " + first_js + ")"));
  CHECK_THAT(status.out, !Catch::Contains("pending") && !Catch::Contains("MISSING"));
  const auto fleet_status = fleet.migrate({"status"});
  INFO(fleet_status.all());
  CHECK(fleet_status.exit_code == 0);
  CHECK_THAT(
      fleet_status.out,
      Catch::Contains("Total: 3 tenants: 3 up to date, 0 with pending migrations, 0 with missing files, 0 unreadable"));

  // 3. all-tenants: every tenant up to date. The first run records the checksums knex never kept
  // (beside the ledger, which stays as knex wrote it); the next reads each tenant once and writes nothing.
  {
    const auto first = fleet.migrate({"all-tenants"});
    INFO(first.all());
    CHECK(first.exit_code == 0);
    CHECK_THAT(first.out, Catch::Contains("0 migrated, 3 up to date, 0 failed"));
    CHECK(fleet.query(tenants[0], "SELECT count(*) FROM knex_migrations_checksums")[0][0].as<std::size_t>() ==
          knex_files(builder_fixtures).size());
    const support::StatementLog log(tenants[0].db);
    const auto all = fleet.migrate({"all-tenants"});
    INFO(all.all());
    CHECK(all.exit_code == 0);
    CHECK_THAT(all.out, Catch::Contains("0 migrated, 3 up to date, 0 failed"));
    CHECK(log.statements(tenants[0].role) ==
          std::vector<std::string>{"SELECT name, NULL::integer, NULL::text FROM \"knex_migrations\" UNION ALL SELECT "
                                   "NULL, max(is_locked), NULL FROM \"knex_migrations_lock\" UNION ALL SELECT name, "
                                   "NULL, checksum FROM \"knex_migrations_checksums\""});
  }
  for (std::size_t i = 0; i < tenants.size(); ++i) CHECK(ledger_as_written(fleet, tenants[i]) == as_knex_left_it[i]);

  // 4. The next migration, made by migrate, applies to every tenant as batch 2 under its .sql name.
  const auto made = fleet.migrate({"make", "add_help_text_to_field_definitions"});
  REQUIRE(made.exit_code == 0);
  const fs::path new_file = made.out.substr(0, made.out.size() - 1);
  std::ofstream(new_file) << "-- migrate:up\nALTER TABLE field_definitions ADD COLUMN help_text text;\n\n"
                             "-- migrate:down\nALTER TABLE field_definitions DROP COLUMN help_text;\n";
  const auto next = fleet.migrate({"all-tenants"});
  INFO(next.all());
  CHECK(next.exit_code == 0);
  CHECK_THAT(next.out, Catch::Contains("3 migrated, 0 up to date, 0 failed"));
  for (const auto& tenant : tenants)
    CHECK(fleet.ledger(tenant).back() == std::pair<std::string, int>{new_file.filename().string(), 2});

  // 5. An incident: acme-corp rolls back the new batch, then the batch knex wrote, by the .sql downs.
  const auto back = fleet.migrate({"rollback", "--tenant", "acme-corp"});
  INFO(back.all());
  REQUIRE(back.exit_code == 0);
  CHECK(ledger_as_written(fleet, tenants[0]) == as_knex_left_it[0]);
  const auto legacy = fleet.migrate({"rollback", "--tenant", "acme-corp"});
  INFO(legacy.all());
  REQUIRE(legacy.exit_code == 0);
  CHECK_THAT(legacy.out, Catch::Contains(first_js));
  CHECK(fleet.ledger(tenants[0]).empty());
  CHECK(schema_dump(tenants[0].db) == schema_dump(empty.db));
  CHECK(fleet.ledger(tenants[1]).size() == knex_files(builder_fixtures).size() + 1);  // the others untouched
}
