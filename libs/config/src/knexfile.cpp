#include "migrate/config/knexfile.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "migrate/core/error.hpp"
#include "yaml_file.hpp"

namespace migrate::config {
namespace {

// Keys knex itself reads that this tool accepts and ignores, so that a shared knexfile still loads.
const std::set<std::string> knex_only_keys = {"client", "version", "pool", "seeds", "debug", "useNullAsDefault",
                                              "acquireConnectionTimeout", "searchPath", "asyncStackTraces",
                                              // knex's migrations keys about its own migration files
                                              "stub", "sortDirsSeparately", "disableMigrationsListValidation"};

// Reads typed values from one environment block, naming file, line and key in every error.
class BlockReader {
 public:
  BlockReader(std::string file, std::string environment)
      : file_(std::move(file)), environment_(std::move(environment)) {}

  std::string place(const YAML::Node& node) const {
    std::string place = file_;
    if (node.IsDefined() && node.Mark().line >= 0) place += ":" + std::to_string(node.Mark().line + 1);
    return place;
  }

  std::string where(const YAML::Node& node, const std::string& key) const {
    return place(node) + ": " + environment_ + "." + key;
  }

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key, const std::string& what) const {
    throw InputError(where(node, key) + " " + what);
  }

  void require_map(const YAML::Node& node, const std::string& key) const {
    if (!node.IsMap()) fail(node, key, "must be a mapping of keys to values");
  }

  // Fails on a key of `map` that is neither `known` nor `ignored` (by default, knex's own keys).
  void reject_unknown(const YAML::Node& map, const std::string& key, const std::set<std::string>& known,
                      const std::set<std::string>& ignored = knex_only_keys) const {
    for (const auto& entry : map) {
      // YAML allows a list or a mapping as a key ("? [a, b]"); yaml-cpp would throw its own error.
      if (entry.first.IsSequence() || entry.first.IsMap())
        throw InputError(place(entry.first) + ": " + environment_ + (key.empty() ? "" : "." + key) +
                         ": a list or a mapping is used as a key; keys are names");
      const auto name = entry.first.as<std::string>();
      if (known.count(name) || ignored.count(name)) continue;
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      fail(entry.first, key.empty() ? name : key + "." + name, "is not a known key (known: " + list + ")");
    }
  }

  std::string text(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) fail(node, key, "must be a string");
    return expand_environment(node.Scalar(), where(node, key));
  }

  // A refused value for an error text: as the file writes it when it names a variable, since the
  // variable may hold a secret (a password put in the wrong key), else as read.
  static std::string shown(const YAML::Node& node, const std::string& value) {
    if (node.IsScalar() && node.Scalar().find("${") != std::string::npos)
      return "'" + node.Scalar() + "' (its variables not shown)";
    return "'" + value + "'";
  }

  // true or false as YAML 1.2 (and knex's JavaScript) spells them, unquoted; nullopt for anything else.
  static std::optional<bool> boolean(const YAML::Node& node) {
    if (!node.IsScalar() || (node.Tag() != "?" && node.Tag() != "tag:yaml.org,2002:bool")) return std::nullopt;
    const std::string& value = node.Scalar();
    if (value == "true" || value == "True" || value == "TRUE") return true;
    if (value == "false" || value == "False" || value == "FALSE") return false;
    return std::nullopt;
  }

  int number(const YAML::Node& node, const std::string& key, int min, int max) const {
    const std::string value = text(node, key);
    int parsed = 0;
    std::size_t used = 0;
    try {
      parsed = std::stoi(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != value.size()) fail(node, key, "must be a whole number, not " + shown(node, value));
    if (parsed < min || parsed > max)
      fail(node, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return parsed;
  }

 private:
  std::string file_;
  std::string environment_;
};

// Where node-pg finds the CAs it trusts by default on Debian: the system bundle.
constexpr const char* system_ca_bundle = "/etc/ssl/certs/ca-certificates.crt";

// libpq keywords for node-pg's `ssl`: true (TLS required), false (no TLS), or a mapping of
// rejectUnauthorized (default true: the server's certificate and host name are checked), ca, cert and
// key (files, relative to `base`). The certificate is checked against `ca`, else the system bundle.
std::vector<std::pair<std::string, std::string>> ssl_keywords(const BlockReader& reader, const YAML::Node& ssl,
                                                              const std::filesystem::path& base,
                                                              const std::string& key) {
  if (const auto on = BlockReader::boolean(ssl)) return {{"sslmode", *on ? "require" : "disable"}};
  const std::string known = "ca, cert, key, rejectUnauthorized";
  if (!ssl.IsMap()) reader.fail(ssl, key, "must be true, false or a mapping (" + known + ")");
  reader.reject_unknown(ssl, key, {"ca", "cert", "key", "rejectUnauthorized"}, {});
  bool verify = true;
  if (const auto node = ssl["rejectUnauthorized"]) {
    const auto value = BlockReader::boolean(node);
    if (!value) reader.fail(node, key + ".rejectUnauthorized", "must be true or false");
    verify = *value;
  }
  const auto file = [&](const char* name) -> std::string {
    if (!ssl[name]) return {};
    const std::string path = reader.text(ssl[name], key + "." + name);
    if (path.empty()) reader.fail(ssl[name], key + "." + name, "is empty: give the path of a file");
    return (base / path).string();
  };
  const std::string ca = file("ca"), cert = file("cert"), private_key = file("key");
  std::vector<std::pair<std::string, std::string>> keywords;
  if (verify) {
    keywords = {{"sslmode", "verify-full"}, {"sslrootcert", ca.empty() ? system_ca_bundle : ca}};
  } else {
    // As node-pg: nothing is checked, so `ca` has no use. (libpq would check against it even in require.)
    keywords = {{"sslmode", "require"}};
  }
  if (!cert.empty()) keywords.emplace_back("sslcert", cert);
  if (!private_key.empty()) keywords.emplace_back("sslkey", private_key);
  return keywords;
}

bool equal_any_case(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

// A conninfo string from knex's mapping form {host, port, user, password, database, ssl}.
std::string conninfo_from_map(const BlockReader& reader, const YAML::Node& map, const std::filesystem::path& base,
                              const std::string& key = "connection") {
  reader.reject_unknown(map, key, {"host", "port", "user", "password", "database", "ssl"});
  static const std::pair<const char*, const char*> keys[] = {
      {"host", "host"}, {"port", "port"}, {"user", "user"}, {"password", "password"}, {"database", "dbname"}};
  std::string conninfo;
  const auto append = [&](const std::string& keyword, const std::string& value) {
    std::string quoted;
    for (char c : value) {
      if (c == '\'' || c == '\\') quoted += '\\';
      quoted += c;
    }
    conninfo += (conninfo.empty() ? "" : " ") + keyword + "='" + quoted + "'";
  };
  for (const auto& [yaml_key, libpq_key] : keys)
    if (map[yaml_key]) append(libpq_key, reader.text(map[yaml_key], key + "." + yaml_key));
  if (map["ssl"])
    for (const auto& [keyword, value] : ssl_keywords(reader, map["ssl"], base, key + ".ssl")) append(keyword, value);
  return conninfo;
}

void read_migrations(const BlockReader& reader, const YAML::Node& node, const std::string& key,
                     const std::filesystem::path& base, MigrationSource& source) {
  reader.require_map(node, key);
  reader.reject_unknown(node, key, {"directory", "tableName", "legacyExtensions", "loadExtensions", "extension"});
  if (node["directory"]) source.directory = base / reader.text(node["directory"], key + ".directory");
  if (const auto list = node["legacyExtensions"]) {
    const auto list_key = key + ".legacyExtensions";
    if (!list.IsSequence()) reader.fail(list, list_key, "must be a list of extensions such as .js");
    source.legacy_extensions.clear();
    for (const auto& item : list) {
      const auto extension = reader.text(item, list_key);
      const bool valid =
          extension.size() > 1 && extension[0] == '.' && !equal_any_case(extension, ".sql") &&
          std::all_of(extension.begin() + 1, extension.end(), [](unsigned char c) { return std::isalnum(c); });
      if (!valid)
        throw InputError(reader.where(item, list_key) + ": " + BlockReader::shown(item, extension) +
                         " is not an extension such as .js (a dot, then letters and digits; not .sql)");
      source.legacy_extensions.push_back(extension);
    }
  }
  if (node["tableName"]) {
    source.table_name = reader.text(node["tableName"], key + ".tableName");
    if (source.table_name.empty() || source.table_name.size() > 58)
      reader.fail(node["tableName"], key + ".tableName", "must be 1 to 58 characters");
    // knex quotes "a.b" as "a"."b": a table in another schema, where this tool would look for one named "a.b".
    const auto& name = source.table_name;
    if (const auto dot = name.find('.'); dot != std::string::npos) {
      const bool two_parts = dot > 0 && dot + 1 < name.size() && name.find('.', dot + 1) == std::string::npos;
      const bool from_variable = BlockReader::shown(node["tableName"], name) != "'" + name + "'";
      const std::string reading = from_variable ? "schema.table"
                                  : two_parts   ? "table " + name.substr(dot + 1) + " in schema " + name.substr(0, dot)
                                                : "a qualified name, not one table";
      reader.fail(node["tableName"], key + ".tableName",
                  "must not contain a dot: knex reads " + BlockReader::shown(node["tableName"], name) + " as " +
                      reading + ", and schema-qualified ledgers (schemaName) are not supported");
    }
  }
}

// `servers:`, a mapping of server names to {connection, host, port, databaseName, roleName}.
void read_servers(const BlockReader& reader, const YAML::Node& node, const std::filesystem::path& base,
                  std::vector<ServerSettings>& servers) {
  reader.require_map(node, "servers");
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) reader.fail(entry.first, "servers", "has a key that is not a name");
    ServerSettings server;
    server.name = entry.first.Scalar();
    const std::string key = "servers." + server.name;
    const YAML::Node& map = entry.second;
    reader.require_map(map, key);
    reader.reject_unknown(map, key, {"connection", "host", "port", "databaseName", "roleName"}, {});
    const YAML::Node connection = map["connection"];
    if (!connection)
      reader.fail(map, key + ".connection", "is missing: set it to an admin connection (URL or mapping) of the server");
    server.admin_connection = connection.IsMap() ? conninfo_from_map(reader, connection, base, key + ".connection")
                                                 : reader.text(connection, key + ".connection");
    if (server.admin_connection.empty()) reader.fail(connection, key + ".connection", "is empty");
    if (map["host"]) server.host = reader.text(map["host"], key + ".host");
    if (map["port"]) server.port = reader.number(map["port"], key + ".port", 1, 65535);
    for (auto [yaml_key, target] :
         {std::pair{"databaseName", &server.database_name}, {"roleName", &server.role_name}}) {
      if (!map[yaml_key]) continue;
      *target = reader.text(map[yaml_key], key + "." + yaml_key);
      if (target->find("{slug}") == std::string::npos)
        reader.fail(map[yaml_key], key + "." + yaml_key,
                    "must contain {slug}, so that each tenant gets a name of its own");
    }
    servers.push_back(std::move(server));
  }
}


// `encryption: { format: cbc | v2 }`.
EncryptionFormat read_encryption(const BlockReader& reader, const YAML::Node& node) {
  reader.require_map(node, "encryption");
  reader.reject_unknown(node, "encryption", {"format"}, {});
  if (!node["format"]) return EncryptionFormat::cbc;
  const auto value = reader.text(node["format"], "encryption.format");
  if (value == "cbc") return EncryptionFormat::cbc;
  if (value == "v2") return EncryptionFormat::v2;
  reader.fail(node["format"], "encryption.format",
              "is " + BlockReader::shown(node["format"], value) +
                  ", not a known format: cbc (AES-256-CBC, what Node code of existing fleets reads) or v2 "
                  "(AES-256-GCM, authenticated)");
}

// The environment block `environment` of the knexfile at `path`: InputError for a missing file,
// YAML that is not a mapping, or an unknown environment, naming what it has.
YAML::Node environment_block(const std::filesystem::path& path, const std::string& environment) {
  const std::string file = path.string();
  if (!std::filesystem::exists(path))
    throw InputError(file + ": no such file (pass --knexfile PATH, or run from the folder that has knexfile.yaml)");
  const YAML::Node root = load_yaml_file(path);
  if (!root.IsMap()) throw InputError(file + ": must be a mapping of environment names to settings");
  const YAML::Node block = root[environment];
  if (!block) {
    std::string names;
    for (const auto& entry : root)
      if (!entry.first.IsSequence() && !entry.first.IsMap())
        names += (names.empty() ? "" : ", ") + entry.first.as<std::string>();
    throw InputError(file + ": no environment '" + environment + "' (it has: " + names + ")");
  }
  return block;
}

}  // namespace

EncryptionFormat read_encryption_format(const std::filesystem::path& path, const std::string& environment,
                                        bool required) {
  if (!required && !std::filesystem::exists(path)) return EncryptionFormat::cbc;
  const YAML::Node block = environment_block(path, environment);
  BlockReader reader(path.string(), environment);
  reader.require_map(block, "");
  if (const auto node = block["encryption"]) return read_encryption(reader, node);
  return EncryptionFormat::cbc;
}

Settings load_settings(const std::filesystem::path& path, const std::string& environment) {
  const std::string file = path.string();
  const YAML::Node block = environment_block(path, environment);

  BlockReader reader(file, environment);
  reader.require_map(block, "");
  reader.reject_unknown(block, "",
                        {"connection", "migrations", "tenants", "central", "run", "retry", "servers", "encryption"});

  Settings settings;
  settings.knexfile = std::filesystem::absolute(path);
  settings.environment = environment;
  const auto base = settings.knexfile.parent_path();
  settings.tenant_migrations.directory = base / "migrations/tenant";
  settings.central_migrations.directory = base / "migrations/central";

  const YAML::Node connection = block["connection"];
  if (!connection) reader.fail(block, "connection", "is missing: set it to the central database's URL");
  settings.central_connection =
      connection.IsMap() ? conninfo_from_map(reader, connection, base) : reader.text(connection, "connection");
  if (settings.central_connection.empty()) reader.fail(connection, "connection", "is empty");

  if (const auto node = block["migrations"])
    read_migrations(reader, node, "migrations", base, settings.tenant_migrations);
  if (const auto node = block["central"]) read_migrations(reader, node, "central", base, settings.central_migrations);

  if (const auto tenants = block["tenants"]) {
    reader.require_map(tenants, "tenants");
    reader.reject_unknown(tenants, "tenants", {"table"});
    if (tenants["table"]) settings.tenants_table = reader.text(tenants["table"], "tenants.table");
    if (settings.tenants_table.empty()) reader.fail(tenants["table"], "tenants.table", "is empty");
  }
  if (const auto run = block["run"]) {
    reader.require_map(run, "run");
    reader.reject_unknown(
        run, "run",
        {"concurrency", "perHost", "lockWaitSeconds", "connectTimeoutSeconds", "lockTimeoutMs", "statementTimeoutMs"});
    if (run["concurrency"]) settings.concurrency = reader.number(run["concurrency"], "run.concurrency", 1, 256);
    if (run["perHost"]) settings.per_host = reader.number(run["perHost"], "run.perHost", 0, 256);
    if (run["lockWaitSeconds"])
      settings.lock_wait = std::chrono::seconds(reader.number(run["lockWaitSeconds"], "run.lockWaitSeconds", 0, 3600));
    if (run["connectTimeoutSeconds"])
      settings.connect_timeout =
          std::chrono::seconds(reader.number(run["connectTimeoutSeconds"], "run.connectTimeoutSeconds", 1, 600));
    // Up to a day: PostgreSQL takes up to INT_MAX ms, and a longer wait is no timeout at all.
    if (run["lockTimeoutMs"])
      settings.lock_timeout =
          std::chrono::milliseconds(reader.number(run["lockTimeoutMs"], "run.lockTimeoutMs", 0, 86400000));
    if (run["statementTimeoutMs"])
      settings.statement_timeout =
          std::chrono::milliseconds(reader.number(run["statementTimeoutMs"], "run.statementTimeoutMs", 0, 86400000));
  }
  if (const auto retry = block["retry"]) {
    reader.require_map(retry, "retry");
    reader.reject_unknown(retry, "retry", {"attempts", "initialDelayMs", "maxDelayMs"});
    auto& policy = settings.retry;
    if (retry["attempts"]) policy.attempts = reader.number(retry["attempts"], "retry.attempts", 1, 100);
    if (retry["initialDelayMs"])
      policy.initial_delay =
          std::chrono::milliseconds(reader.number(retry["initialDelayMs"], "retry.initialDelayMs", 0, 600000));
    if (retry["maxDelayMs"])
      policy.max_delay = std::chrono::milliseconds(reader.number(retry["maxDelayMs"], "retry.maxDelayMs", 0, 600000));
  }
  if (const auto servers = block["servers"]) read_servers(reader, servers, base, settings.servers);
  if (const auto node = block["encryption"]) settings.encryption_format = read_encryption(reader, node);
  return settings;
}

}  // namespace migrate::config
