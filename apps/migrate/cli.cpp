#include "cli.hpp"

#include <termios.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>

#include "confirm.hpp"
#include "migrate/config/knexfile.hpp"
#include "migrate/core/error.hpp"
#include "migrate/core/printable.hpp"
#include "migrate/core/text.hpp"
#include "migrate/crypto/stored_password.hpp"
#include "migrate/migrations/new_migration.hpp"
#include "migrate/pg/errors.hpp"
#include "migrate/pg/target.hpp"
#include "migrate/runner/baseline.hpp"
#include "migrate/runner/commands.hpp"
#include "migrate/runner/lifecycle.hpp"
#include "migrate/runner/repair.hpp"
#include "migrate/runner/password_storage.hpp"
#include "migrate/runner/repair.hpp"
#include "migrate/runner/rotate_key.hpp"
#include "migrate/runner/targeted.hpp"
#include "migrate/runner/rotate_password.hpp"
#include "migrate/runner/validate.hpp"
#include "signals.hpp"

namespace migrate::cli {
namespace {

struct Arguments {
  std::string knexfile = "knexfile.yaml";
  std::string environment;
  std::string log_format = "text";
  std::string tx_mode = "single";
  std::string tenant;
  std::string migration_name;
  bool all = false;
  bool fail_fast = false;
  bool no_claims = false;
  int concurrency = 0;
  int per_host = -1;
  std::string only;
  std::string exclude;
  std::string shard;
  bool all_tenants = false;
  bool yes = false;
  bool dry_run = false;
  bool force = false;
  std::string to;
  int steps = 0;
  // Integrity: checksums, validate, repair.
  bool allow_edited = false;
  bool forget_missing = false;
  // A tenant's life: provision, deprovision.
  std::string tenant_name;
  std::string server;
  bool drop_database = false;
  // Secrets: encrypt --format.
  std::string format;
};

config::Settings load(const Arguments& args) {
  return config::load_settings(args.knexfile, config::choose_environment(args.environment));
}

runner::EngineOptions engine_options(const Arguments& args, const config::Settings& settings) {
  runner::EngineOptions options;
  options.tx_mode = args.tx_mode == "per-migration" ? runner::TxMode::per_migration : runner::TxMode::single;
  options.lock_wait = settings.lock_wait;
  options.lock_timeout = settings.lock_timeout;
  options.statement_timeout = settings.statement_timeout;
  options.allow_edited = args.allow_edited;
  return options;
}

runner::FleetOptions fleet_options(const Arguments& args, const config::Settings& settings) {
  runner::FleetOptions options;
  options.concurrency = args.concurrency > 0 ? args.concurrency : settings.concurrency;
  options.per_host = args.per_host >= 0 ? args.per_host : settings.per_host;
  options.fail_fast = args.fail_fast;
  for (auto& slug : split_list(args.only, ',')) options.only.insert(slug);
  for (auto& slug : split_list(args.exclude, ',')) options.exclude.insert(slug);
  if (!args.shard.empty()) options.shard = runner::parse_shard(args.shard);
  return options;
}

std::unique_ptr<runner::Reporter> make_reporter(const Arguments& args, bool verbose) {
  if (args.log_format == "json") return runner::make_json_reporter();
  return runner::make_text_reporter(isatty(STDOUT_FILENO) == 1, verbose);
}

// --yes answers for the operator; otherwise the person at the terminal is asked, and without one
// nobody can be: refused, nothing changed.
bool confirm(const Arguments& args, const std::string& question) {
  if (args.yes) return true;
  if (isatty(STDIN_FILENO) != 1)
    throw InputError(
        "standard input is not a terminal, so the question cannot be asked: pass --yes to go ahead; "
        "nothing was changed");
  return ask_yes_no(question);
}

// A NAME given empty (an unset shell variable) must not read as no NAME at all: that would undo or
// apply something else.
const CLI::Validator non_empty(
    [](std::string& value) { return value.empty() ? std::string("must not be empty") : std::string(); }, "NAME",
    "non-empty");

void add_tx_mode(CLI::App& command, Arguments& args) {
  command
      .add_option("--tx-mode", args.tx_mode,
                  "single: one transaction per tenant (default); per-migration: one per migration")
      ->check(CLI::IsMember({"single", "per-migration"}));
}

}  // namespace

int run(int argc, char** argv) {
  pg::detach_environment();
  Arguments args;
  CLI::App app{"migrate: keeps every tenant database of a fleet on one schema", "migrate"};
  app.fallthrough();
  app.require_subcommand(1);
  app.set_version_flag("--version", "migrate 0.1.0");
  // Given twice (a wrapper script's default, then the operator's), the last one wins.
  app.add_option("--knexfile", args.knexfile, "path to knexfile.yaml")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--env", args.environment, "environment block of the knexfile (default: $MIGRATE_ENV or development)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--log-format", args.log_format, "text or json")->check(CLI::IsMember({"text", "json"}));

  auto* tenant = app.add_subcommand("tenant", "apply pending migrations to one tenant, whatever its status");
  tenant->add_option("tenant", args.tenant, "slug or id")->required();
  add_tx_mode(*tenant, args);
  tenant->add_flag("--dry-run", args.dry_run, "apply in a transaction and roll back: would it succeed?");

  auto* all = app.add_subcommand("all-tenants", "apply pending migrations to every active tenant");
  add_tx_mode(*all, args);
  all->add_option("--concurrency", args.concurrency, "tenants in flight at once (default: run.concurrency, 8)")
      ->check(CLI::Range(1, 256));
  all->add_option("--per-host", args.per_host, "at most N tenants at once per database server; 0: no cap")
      ->check(CLI::Range(0, 256));
  all->add_flag("--fail-fast", args.fail_fast, "stop starting tenants after the first failure");
  all->add_option("--only", args.only, "only these slugs, comma-separated");
  all->add_option("--exclude", args.exclude, "all but these slugs, comma-separated");
  all->add_option("--shard", args.shard, "K/N: only the K-th of N stable shards of the fleet");
  all->add_flag("--no-claims", args.no_claims, "do not coordinate with other replicas through the central database");
  all->add_flag("--dry-run", args.dry_run, "apply in a transaction and roll back, on every tenant: would it succeed?");

  auto* rollback = app.add_subcommand("rollback", "run the down sections of a tenant's last batch, or as chosen");
  auto* rollback_tenant = rollback->add_option("--tenant", args.tenant, "slug or id");
  auto* rollback_fleet =
      rollback->add_flag("--all-tenants", args.all_tenants, "every active tenant (with --to): a deploy's rollback");
  rollback_tenant->excludes(rollback_fleet);
  auto* rollback_all = rollback->add_flag("--all", args.all, "roll back every batch");
  auto* rollback_to =
      rollback->add_option("--to", args.to, "undo every applied migration newer than NAME")->check(non_empty);
  auto* rollback_steps = rollback->add_option("--steps", args.steps, "undo the newest N applied migrations")
                             ->check(CLI::Range(1, 1000000));
  rollback_all->excludes(rollback_to)->excludes(rollback_steps);
  rollback_to->excludes(rollback_steps);
  rollback->add_flag("--yes", args.yes, "with --all-tenants: do not ask for confirmation");
  rollback->add_flag("--dry-run", args.dry_run, "with --all-tenants: show the plan only")->needs(rollback_fleet);
  rollback->add_option("--concurrency", args.concurrency, "tenants in flight at once (default: run.concurrency, 8)")
      ->check(CLI::Range(1, 256))
      ->needs(rollback_fleet);
  rollback->add_option("--per-host", args.per_host, "at most N tenants at once per database server; 0: no cap")
      ->check(CLI::Range(0, 256))
      ->needs(rollback_fleet);
  rollback->add_option("--only", args.only, "with --all-tenants: only these slugs, comma-separated")
      ->needs(rollback_fleet);
  rollback->add_option("--exclude", args.exclude, "with --all-tenants: all but these slugs, comma-separated")
      ->needs(rollback_fleet);
  add_tx_mode(*rollback, args);

  auto* up = app.add_subcommand("up", "apply the next pending migration, or NAME, as a batch of its own");
  up->add_option("--tenant", args.tenant, "slug or id")->required();
  up->add_option("name", args.migration_name, "file name, timestamp or a unique part of it")->check(non_empty);
  up->add_flag("--force", args.force, "run NAME's up section again although it is applied");
  auto* down = app.add_subcommand("down", "undo the newest applied migration, or NAME");
  down->add_option("--tenant", args.tenant, "slug or id")->required();
  down->add_option("name", args.migration_name, "file name, timestamp or a unique part of it")->check(non_empty);

  auto* status = app.add_subcommand("status", "applied and pending migrations (read-only)");
  status->add_option("--tenant", args.tenant, "slug or id; without it, one line per active tenant");
  status->add_option("--concurrency", args.concurrency, "tenants read at once")->check(CLI::Range(1, 256));

  auto* baseline = app.add_subcommand(
      "baseline", "record migrations up to NAME as applied without running them, for a schema made elsewhere");
  auto* baseline_tenant = baseline->add_option("--tenant", args.tenant, "slug or id of one tenant");
  auto* baseline_all = baseline->add_flag("--all-tenants", args.all_tenants, "every active tenant");
  baseline_tenant->excludes(baseline_all);
  baseline->add_option("--to", args.migration_name, "the last migration to record: file name, or its timestamp")
      ->required()
      ->check(non_empty);
  baseline->add_flag("--yes", args.yes, "do not ask for confirmation");
  baseline->add_option("--concurrency", args.concurrency, "tenants in flight at once (default: run.concurrency, 8)")
      ->check(CLI::Range(1, 256));
  baseline->add_option("--only", args.only, "with --all-tenants: only these slugs, comma-separated")
      ->needs(baseline_all);
  baseline->add_option("--exclude", args.exclude, "with --all-tenants: all but these slugs, comma-separated")
      ->needs(baseline_all);

  auto* central = app.add_subcommand("central", "apply migrations/central to the central database");
  auto* unlock = app.add_subcommand("unlock", "clear a knex lock row left set (as knex migrate:unlock)");
  unlock->add_option("--tenant", args.tenant, "slug or id")->required();

  auto* make = app.add_subcommand("make", "write a new migration file");
  make->add_option("name", args.migration_name, "lowercase snake_case, e.g. add_invoices")->required();

  auto* encrypt = app.add_subcommand("encrypt", "encrypt one password read from standard input");
  encrypt->add_option("--format", args.format, "cbc or v2 (default: the knexfile's encryption.format, else cbc)")
      ->check(CLI::IsMember({"cbc", "v2"}));
  auto* rotate_key = app.add_subcommand(
      "rotate-key", "re-encrypt every tenant password under DB_ENCRYPTION_KEY, so previous keys can be retired");
  rotate_key->add_flag("--dry-run", args.dry_run, "decrypt every password and print the counts; change nothing");

  // Integrity: checksums, validate, repair.
  const char* allow_edited_help = "apply even when applied migrations were edited since (see migrate validate)";
  tenant->add_flag("--allow-edited", args.allow_edited, allow_edited_help);
  all->add_flag("--allow-edited", args.allow_edited, allow_edited_help);
  central->add_flag("--allow-edited", args.allow_edited, allow_edited_help);
  up->add_flag("--allow-edited", args.allow_edited, allow_edited_help);
  auto* validate = app.add_subcommand(
      "validate", "check ledgers against the files: edited, missing, out of order, locks, invalid indexes (read-only)");
  validate->add_option("--tenant", args.tenant, "slug or id; without it, every active tenant");
  validate->add_option("--concurrency", args.concurrency, "tenants read at once")->check(CLI::Range(1, 256));
  auto* validate_tenant = validate->get_option("--tenant");
  validate->add_option("--only", args.only, "only these slugs, comma-separated")->excludes(validate_tenant);
  validate->add_option("--exclude", args.exclude, "all but these slugs, comma-separated")->excludes(validate_tenant);
  auto* repair = app.add_subcommand(
      "repair", "re-record checksums after a deliberate edit, forget vanished files, repair the lock table");
  auto* repair_tenant = repair->add_option("--tenant", args.tenant, "slug or id of one tenant");
  auto* repair_all = repair->add_flag("--all-tenants", args.all_tenants, "every active tenant");
  repair_tenant->excludes(repair_all);
  repair->add_flag("--forget-missing", args.forget_missing,
                   "remove the ledger rows of applied migrations whose file is gone");
  repair->add_flag("--yes", args.yes, "do not ask for confirmation");
  repair->add_option("--concurrency", args.concurrency, "tenants in flight at once")->check(CLI::Range(1, 256));
  repair->add_option("--only", args.only, "with --all-tenants: only these slugs, comma-separated")->needs(repair_all);
  repair->add_option("--exclude", args.exclude, "with --all-tenants: all but these slugs, comma-separated")
      ->needs(repair_all);

  // A tenant's life: provision, deprovision.
  auto* provision = app.add_subcommand(
      "provision", "create a tenant: its role, database and record, then run every tenant migration");
  provision->add_option("slug", args.tenant, "lowercase letters, digits and hyphens")->required();
  provision->add_option("--name", args.tenant_name, "the tenant's display name (tenants.name)");
  provision->add_option("--server", args.server, "a server under servers: in the knexfile (default: the only one)");
  auto* deprovision = app.add_subcommand("deprovision", "retire a tenant (status deleted); --drop-database removes it");
  deprovision->add_option("slug", args.tenant, "the tenant's slug")->required();
  deprovision->add_flag("--drop-database", args.drop_database,
                        "also end its sessions and drop its database and role (asks first)");
  deprovision->add_flag("--yes", args.yes, "with --drop-database: do not ask for confirmation");
  deprovision->add_option("--server", args.server,
                          "with --drop-database: the server, if its host and port do not tell");
  // Rotation: rotate-password.
  auto* rotate = app.add_subcommand(
      "rotate-password", "a new random password for a tenant's role: set on its server, then stored encrypted");
  auto* rotate_tenant = rotate->add_option("tenant", args.tenant, "slug or id")->check(non_empty);
  auto* rotate_all =
      rotate->add_flag("--all-tenants", args.all_tenants, "every active tenant, and any with an interrupted rotation");
  rotate_tenant->excludes(rotate_all);
  rotate->add_option("--concurrency", args.concurrency, "tenants in flight at once")
      ->check(CLI::Range(1, 256))
      ->needs(rotate_all);
  rotate->add_option("--per-host", args.per_host, "at most N tenants at once per database server; 0: no cap")
      ->check(CLI::Range(0, 256))
      ->needs(rotate_all);
  rotate->add_option("--only", args.only, "only these slugs, comma-separated")->needs(rotate_all);
  rotate->add_option("--exclude", args.exclude, "all but these slugs, comma-separated")->needs(rotate_all);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // CLI11 says only "A subcommand is required" for a mistyped one: name the word it did not know.
    const auto left = app.remaining();
    if (app.get_subcommands().empty() && !left.empty() && !left.front().starts_with('-')) {
      std::cerr << printable(left.front())
                << " is not a subcommand of migrate\nRun with --help for more information.\n";
      return exit_input;
    }
    const int code = app.exit(error);
    return code == 0 ? exit_ok : exit_input;
  }

  if (*rollback && args.tenant.empty() && !args.all_tenants) {
    std::cerr << "rollback: give --tenant <slug-or-id> or --all-tenants\nRun with --help for more information.\n";
    return exit_input;
  }
  if (*rollback && args.all_tenants && args.to.empty()) {
    std::cerr << "rollback --all-tenants needs --to NAME: the last migration to keep on every tenant\nRun with --help "
                 "for more information.\n";
    return exit_input;
  }
  if (*up && args.force && args.migration_name.empty()) {
    std::cerr << "up --force needs the NAME of the migration to run again\nRun with --help for more information.\n";
    return exit_input;
  }
  if (*baseline && args.tenant.empty() && !args.all_tenants) {
    std::cerr << "baseline: give --tenant <slug-or-id> or --all-tenants\nRun with --help for more information.\n";
    return exit_input;
  }

  if (*repair && args.tenant.empty() && !args.all_tenants) {
    std::cerr << "repair: give --tenant <slug-or-id> or --all-tenants\nRun with --help for more information.\n";
    return exit_input;
  }

  if (*rotate && args.tenant.empty() && !args.all_tenants) {
    std::cerr << "rotate-password: give a tenant's slug or id, or --all-tenants\nRun with --help for more "
                 "information.\n";
    return exit_input;
  }

  try {
    if (*encrypt) {
      // Reading a password cannot be cancelled: on a signal, give the terminal its echo back and go.
      termios terminal{};
      const bool on_terminal = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &terminal) == 0;
      const SignalWatcher watcher([terminal, on_terminal](int number) {
        if (on_terminal) tcsetattr(STDIN_FILENO, TCSANOW, &terminal);
        _exit(128 + number);
      });
      // The knexfile is optional here: encrypt needs no central database. Only encryption.format is read.
      const auto format = !args.format.empty() ? *crypto::parse_format(args.format)
                                               : runner::storage_format(config::read_encryption_format(
                                                     args.knexfile, config::choose_environment(args.environment),
                                                     app.get_option("--knexfile")->count() > 0));
      return encrypt_command(format);
    }
    const SignalWatcher watcher;
    const auto settings = load(args);
    if (*make) {
      std::cout << migrations::write_new_migration(settings.tenant_migrations.directory, args.migration_name,
                                                   std::chrono::system_clock::now())
                       .string()
                << '\n';
      return exit_ok;
    }
    const auto engine = engine_options(args, settings);
    if (*tenant) {
      if (args.dry_run) return runner::dry_run_tenant(settings, args.tenant, engine, *make_reporter(args, true));
      return runner::migrate_tenant(settings, args.tenant, engine, *make_reporter(args, true));
    }
    if (*all) {
      const auto fleet = fleet_options(args, settings);
      if (args.dry_run) return runner::dry_run_fleet(settings, fleet, engine, *make_reporter(args, false));
      return runner::migrate_all_tenants(settings, fleet, engine, !args.no_claims, *make_reporter(args, false));
    }
    if (*rollback) {
      if (args.all_tenants)
        return runner::rollback_fleet(
            settings, fleet_options(args, settings), args.to, engine, *make_reporter(args, false),
            [&](const std::string& question) { return confirm(args, question); }, args.dry_run);
      auto request = runner::RollbackSelection::last();
      if (args.all) request = runner::RollbackSelection::every();
      if (!args.to.empty()) request = runner::RollbackSelection::to(args.to);
      if (args.steps > 0) request = runner::RollbackSelection::newest_n(args.steps);
      return runner::rollback_tenant(settings, args.tenant, request, engine, *make_reporter(args, true));
    }
    if (*up) {
      const auto name = args.migration_name.empty() ? std::nullopt : std::optional<std::string>(args.migration_name);
      return runner::up_tenant(settings, args.tenant, name, args.force, engine, *make_reporter(args, true));
    }
    if (*down) {
      const auto request = args.migration_name.empty() ? runner::RollbackSelection::newest_n(1)
                                                       : runner::RollbackSelection::only(args.migration_name);
      return runner::rollback_tenant(settings, args.tenant, request, engine, *make_reporter(args, true));
    }
    if (*status) {
      const auto tenant_arg = args.tenant.empty() ? std::nullopt : std::optional<std::string>(args.tenant);
      return runner::show_status(settings, tenant_arg, fleet_options(args, settings), *make_reporter(args, true));
    }
    if (*baseline) {
      runner::BaselineRequest request{args.migration_name, std::nullopt, fleet_options(args, settings)};
      if (!args.all_tenants) request.tenant = args.tenant;
      return runner::baseline(settings, request, engine, *make_reporter(args, true),
                              [&](const std::string& question) { return confirm(args, question); });
    }
    if (*provision)
      return runner::provision(settings, {args.tenant, args.tenant_name, args.server}, engine,
                               *make_reporter(args, true));
    if (*deprovision)
      return runner::deprovision(settings, {args.tenant, args.drop_database, args.server}, *make_reporter(args, true),
                                 [&](const std::string& question) { return confirm(args, question); });
    if (*central) return runner::migrate_central(settings, engine, *make_reporter(args, true));
    if (*unlock) return runner::unlock_tenant(settings, args.tenant, *make_reporter(args, true));
    if (*rotate_key) return runner::rotate_key(settings, args.dry_run, *make_reporter(args, true));
    // Integrity: checksums, validate, repair.
    if (*validate) {
      runner::ValidateRequest request{std::nullopt, fleet_options(args, settings), args.log_format == "json"};
      if (!args.tenant.empty()) request.tenant = args.tenant;
      return runner::validate(settings, request, *make_reporter(args, true));
    }
    if (*repair) {
      runner::RepairRequest request{std::nullopt, fleet_options(args, settings), args.forget_missing};
      if (!args.all_tenants) request.tenant = args.tenant;
      return runner::repair(settings, request, *make_reporter(args, true),
                            [&](const std::string& question) { return confirm(args, question); });
    }
    if (*rotate) {
      runner::RotatePasswordRequest request{std::nullopt, fleet_options(args, settings), args.log_format == "json"};
      if (!args.all_tenants) request.tenant = args.tenant;
      return runner::rotate_password(settings, request, *make_reporter(args, true));
    }
  } catch (const Error& error) {
    std::cerr << "migrate: error: " << printable(pg::scrub(error.what())) << '\n';
    return error.exit_status();
  } catch (const std::exception& error) {
    std::cerr << "migrate: error: " << printable(pg::scrub(error.what())) << '\n';
    return exit_failed;
  }
  return exit_input;
}

}  // namespace migrate::cli
