#include "support/own_cluster.hpp"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>

#include "support/cluster.hpp"
#include "support/process.hpp"

namespace support {
namespace {

const std::string pg_cluster = std::string(MIGRATE_SOURCE_DIR) + "/scripts/pg-cluster.sh";
// As scripts/pg-cluster.sh finds it.
std::string pg_ctl() {
  const char* bin = std::getenv("PGBIN");
  return std::string(bin && *bin ? bin : "/usr/lib/postgresql/15/bin") + "/pg_ctl";
}

std::string first_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// pg_ctl as the user who owns the cluster (postgres when the tests run as root).
ProcessResult run_pg_ctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  if (::geteuid() == 0) argv = {"/usr/sbin/runuser", "-u", "postgres", "--"};
  argv.push_back(pg_ctl());
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

}  // namespace

OwnCluster::OwnCluster(const std::string& extra_conf)
    : dir_(std::filesystem::temp_directory_path() / unique_name("migrate-own-") / "pg"), port_(free_port()) {
  const auto init = run({pg_cluster, "init", dir_.string(), std::to_string(port_)});
  INFO(init.all());
  REQUIRE(init.exit_code == 0);
  std::ofstream(dir_ / "data/postgresql.conf", std::ios::app) << extra_conf << "\n";
  std::ifstream env(dir_ / "env");
  for (std::string line; std::getline(env, line);)
    if (line.rfind("export PGPASSWORD=", 0) == 0) password_ = line.substr(18);
  start();
}

OwnCluster::~OwnCluster() {
  run({pg_cluster, "stop", dir_.string()});
  std::error_code ignored;
  std::filesystem::remove_all(dir_.parent_path(), ignored);
}

std::string OwnCluster::admin_conninfo(const std::string& dbname) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres password=" + password_ + " dbname=" + dbname;
}

void OwnCluster::host(const TestFleet& fleet, const Tenant& tenant) const {
  {
    pqxx::connection admin(admin_conninfo());
    pqxx::nontransaction tx(admin);
    tx.exec("CREATE ROLE " + tx.quote_name(tenant.role) + " LOGIN PASSWORD " + tx.quote(tenant.password));
    tx.exec("CREATE DATABASE " + tx.quote_name(tenant.db) + " OWNER " + tx.quote_name(tenant.role));
  }
  admin_exec("UPDATE tenants SET db_port = " + std::to_string(port_) + " WHERE id = '" + tenant.id + "'",
             fleet.central_db());
}

void OwnCluster::start(bool wait) {
  const auto started = run_pg_ctl(
      {"-D", (dir_ / "data").string(), "-l", (dir_ / "server.log").string(), wait ? "-w" : "-W", "-t", "60", "start"});
  INFO(started.all());
  REQUIRE(started.exit_code == 0);
}

void OwnCluster::stop(const std::string& mode, bool wait) {
  const auto stopped = run_pg_ctl({"-D", (dir_ / "data").string(), "-m", mode, wait ? "-w" : "-W", "-t", "60", "stop"});
  INFO(stopped.all());
  REQUIRE(stopped.exit_code == 0);
}

pid_t OwnCluster::postmaster_pid() const {
  const auto line = first_line(dir_ / "data/postmaster.pid");
  return line.empty() ? 0 : static_cast<pid_t>(std::stol(line));
}

pid_t OwnCluster::pause_startup() const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    // The postmaster's children straight from the kernel: polled in a tight loop, the startup
    // process is caught within a millisecond of taking its title.
    const pid_t parent = postmaster_pid();
    if (parent == 0) continue;
    std::ifstream children("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children");
    for (pid_t child = 0; children >> child;) {
      std::ifstream cmdline_file("/proc/" + std::to_string(child) + "/cmdline");
      std::string cmdline;
      std::getline(cmdline_file, cmdline, '\0');
      if (cmdline.rfind("postgres: startup", 0) != 0) continue;
      REQUIRE(::kill(child, SIGSTOP) == 0);
      return child;
    }
  }
  FAIL("no startup process seen within 30 s");
  return 0;
}

std::string OwnCluster::connect_error() const {
  try {
    pqxx::connection probe(admin_conninfo());
    return "";
  } catch (const std::exception& error) {
    return error.what();
  }
}

pid_t OwnCluster::child_pid(const std::string& title) const {
  const pid_t parent = postmaster_pid();
  if (parent == 0) return 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat_file(entry.path() / "stat");
    std::string stat;
    std::getline(stat_file, stat);
    // pid (comm) state ppid ...: the command may hold spaces and parentheses, so read after the last ')'.
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid != parent) continue;
    std::ifstream cmdline_file(entry.path() / "cmdline");
    std::string cmdline;
    std::getline(cmdline_file, cmdline, '\0');
    if (cmdline.rfind(title, 0) == 0) return static_cast<pid_t>(std::stol(name));
  }
  return 0;
}

}  // namespace support
