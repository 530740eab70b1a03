#include "migrate/runner/rotate_password.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>

#include "central_reader.hpp"
#include "migrate/core/error.hpp"
#include "migrate/core/interrupt.hpp"
#include "migrate/crypto/key.hpp"
#include "migrate/crypto/password_cipher.hpp"
#include "migrate/crypto/random_password.hpp"
#include "migrate/pg/cancel.hpp"
#include "migrate/pg/errors.hpp"
#include "migrate/pg/scram.hpp"
#include "migrate/registry/password_rotations.hpp"
#include "migrate/runner/retry.hpp"
#include "migrate/runner/password_storage.hpp"
#include "preflight.hpp"
#include "report_steps.hpp"

namespace migrate::runner {
namespace {

// The one place rotate-password encrypts a password for storage, and reads one back.
class Sealer {
 public:
  explicit Sealer(const config::Settings& settings) : settings_(settings), ring_(crypto::KeyRing::from_environment()) {}
  // Under DB_ENCRYPTION_KEY, in the knexfile's encryption.format.
  std::string seal(const crypto::Secret& password) const {
    return seal_for_storage(settings_, ring_, password.view());
  }
  // Under any key of the ring, in either format.
  crypto::Secret unseal(const std::string& stored) const { return crypto::decrypt_password(stored, ring_); }

 private:
  const config::Settings& settings_;
  crypto::KeyRing ring_;
};

enum class Result { rotated, completed, failed, interrupted };

struct TenantRotation {
  std::string slug;
  Result result = Result::failed;
  std::string reason;  // why it failed or stopped; never a password
};

// How far a rotation got, so that a failure can say what state it left the tenant in.
enum class Stage { settling, recorded, altering, storing };

// Whether the server refused the password (rather than being out of reach). libpq gives no
// SQLSTATE for a failed connection, so its message decides.
bool password_refused(const pg::ConnectError& error) {
  return std::string_view(error.what()).find("password authentication failed") != std::string_view::npos;
}

// A connection to `tenant`'s database as its role with `password`; nothing when the server
// refuses that password. Other failures (unreachable, too many clients) are thrown.
std::unique_ptr<pg::Connection> log_in(const registry::TenantRecord& tenant, crypto::Secret password,
                                       const config::Settings& settings) {
  try {
    return std::make_unique<pg::Connection>(pg::Target::of(tenant.database),
                                            pg::ConnectOptions{settings.connect_timeout}, std::move(password));
  } catch (const pg::ConnectError& error) {
    if (password_refused(error)) return nullptr;
    throw;
  }
}

struct Context {
  const config::Settings& settings;
  const Sealer& sealer;
  const pg::Target& central;
  std::string side_table;  // for messages
};

// One attempt at one tenant, steps 1 to 3 (see rotate_password.hpp); `stage` says how far it got.
Result rotate_once(const registry::TenantRecord& tenant, const Context& context, Stage& stage) {
  stage = Stage::settling;
  pg::Connection central(context.central, {context.settings.connect_timeout});
  pg::enable_dead_client_check(central);  // a killed run's advisory lock goes with its session
  registry::PasswordRotations rotations(central, context.settings.tenants_table);
  if (!rotations.try_lock(tenant.id))
    throw RunError("another migrate rotate-password is rotating this tenant's password right now");

  const auto stored_password = [&] {
    try {
      return context.sealer.unseal(tenant.password_encrypted);
    } catch (const crypto::DecryptError& error) {
      throw RunError(std::string("cannot decrypt db_password_encrypted: ") + error.what());
    }
  };
  const auto where = tenant.database.describe() + " as role " + tenant.database.user;

  std::unique_ptr<pg::Connection> db;
  if (const auto pending = rotations.pending(tenant.id)) {
    crypto::Secret recorded;
    try {
      recorded = context.sealer.unseal(*pending);
    } catch (const crypto::DecryptError& error) {
      throw RunError("cannot decrypt the password of its interrupted rotation in " + context.side_table + ": " +
                     error.what());
    }
    if (log_in(tenant, std::move(recorded), context.settings)) {
      // The server took the new password before the run that set it stopped: store it.
      stage = Stage::storing;
      const pg::ShieldFromCancel shield(central);
      rotations.complete(tenant.id, *pending);
      return Result::completed;
    }
    db = log_in(tenant, stored_password(), context.settings);
    if (!db)
      throw RunError("neither password is accepted by " + where + ": not the one of its interrupted rotation (in " +
                     context.side_table + "), nor the stored one (db_password_encrypted); nothing was changed");
    // The server never got the recorded password: start over.
  } else {
    db = std::make_unique<pg::Connection>(pg::Target::of(tenant.database),
                                          pg::ConnectOptions{context.settings.connect_timeout}, stored_password());
  }
  interrupt::throw_if_requested();

  auto password = crypto::generate_password();
  const auto sealed = context.sealer.seal(password);
  const auto verifier = pg::scram_verifier(*db, password, tenant.database.user);
  password = crypto::Secret();  // wiped: only the verifier and the sealed form are needed now

  rotations.record(tenant.id, sealed);  // step 1
  stage = Stage::recorded;
  interrupt::throw_if_requested();

  stage = Stage::altering;  // step 2: in a transaction, so that a run killed before COMMIT changes nothing
  try {
    pqxx::work tx(*db);
    tx.exec(pg::role_password_sql(*db, tenant.database.user, verifier, false));
    tx.commit();
  } catch (...) {
    pg::rethrow_as_error(db.get());
  }

  stage = Stage::storing;  // step 3: not cancelled by a stop request, which would leave it to the next run
  const pg::ShieldFromCancel shield(central);
  rotations.complete(tenant.id, sealed);
  return Result::rotated;
}

// What a failure at `stage` left behind, for the tenant's reason.
std::string left_behind(Stage stage, const Error& error, const registry::TenantRecord& tenant) {
  const auto again = "run migrate rotate-password " + tenant.label() + " again";
  switch (stage) {
    case Stage::settling: return "";
    case Stage::recorded: return " (the old password still works; " + again + ")";
    case Stage::altering:
      if (error.in_doubt()) return " (the new password may or may not be set on the server; " + again + ")";
      return " (the old password still works; " + again + ")";
    case Stage::storing:
      if (error.in_doubt())
        return " (the server has the new password; the tenants row may not have it yet: " + again + ")";
      return " (the server has the new password but the tenants row does not yet: the tenant cannot be reached "
             "with the stored password until you " +
             again + ")";
  }
  return "";
}

// One tenant from record to result: retried as the retry policy says when the failure is
// transient (each attempt settles what the one before left), never throwing for the tenant's
// own failures.
TenantRotation rotate_tenant(const registry::TenantRecord& tenant, const Context& context) {
  TenantRotation rotation{tenant.label(), Result::failed, {}};
  if (!tenant.problem.empty()) {
    rotation.reason = tenant.problem;
    return rotation;
  }
  const auto& policy = context.settings.retry;
  for (int attempt = 1;; ++attempt) {
    Stage stage = Stage::settling;
    try {
      interrupt::throw_if_requested();
      rotation.result = rotate_once(tenant, context, stage);
      return rotation;
    } catch (const InterruptedError& error) {
      rotation.result = Result::interrupted;
      rotation.reason = error.what() + left_behind(stage, error, tenant);
      return rotation;
    } catch (const Error& error) {
      if (!error.transient() || attempt >= policy.attempts) {
        rotation.result = Result::failed;
        rotation.reason = pg::scrub(error.what()) + left_behind(stage, error, tenant);
        return rotation;
      }
      if (!interrupt::sleep_for(backoff_delay(policy, attempt))) {
        rotation.result = Result::interrupted;
        rotation.reason = "interrupted by " + interrupt::signal_name() + left_behind(stage, error, tenant);
        return rotation;
      }
    }
  }
}

const char* result_word(Result result) {
  switch (result) {
    case Result::rotated: return "rotated";
    case Result::completed: return "completed";
    case Result::failed: return "failed";
    case Result::interrupted: return "interrupted";
  }
  return "failed";
}

void print(const TenantRotation& rotation, bool json, Reporter& reporter) {
  if (json) {
    nlohmann::json object{
        {"event", "password_rotation"}, {"tenant", rotation.slug}, {"result", result_word(rotation.result)}};
    if (!rotation.reason.empty()) object["reason"] = rotation.reason;
    std::cout << object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    return;
  }
  switch (rotation.result) {
    case Result::rotated: reporter.line(rotation.slug + ": password rotated"); break;
    case Result::completed: reporter.line(rotation.slug + ": completed an interrupted rotation"); break;
    case Result::failed: reporter.line(rotation.slug + ": FAILED: " + rotation.reason); break;
    case Result::interrupted: reporter.line(rotation.slug + ": interrupted: " + rotation.reason); break;
  }
}

TenantOutcome outcome_of(const TenantRotation& rotation) {
  TenantOutcome outcome;
  outcome.slug = rotation.slug;
  outcome.reason = rotation.reason;
  outcome.state = rotation.result == Result::failed        ? TenantState::failed
                  : rotation.result == Result::interrupted ? TenantState::interrupted
                                                           : TenantState::migrated;
  return outcome;
}

// Every active tenant and every tenant with an interrupted rotation, in (slug, id) order.
std::vector<registry::TenantRecord> fleet_targets(CentralReader& reader, registry::PasswordRotations& rotations) {
  std::vector<registry::TenantRecord> targets;
  std::set<std::string> ids;
  for (registry::PageCursor after;;) {
    const auto page = reader.read([&](registry::TenantRegistry& tenants) { return tenants.active_page(after, 500); });
    if (page.empty()) break;
    after = {page.back().slug, page.back().id};
    for (const auto& tenant : page) {
      ids.insert(tenant.id);
      targets.push_back(tenant);
    }
  }
  for (const auto& id : rotations.pending_tenant_ids()) {
    if (ids.count(id) > 0) continue;
    const auto tenant = reader.read([&](registry::TenantRegistry& tenants) { return tenants.find(id); });
    if (tenant && tenant->id == id) targets.push_back(*tenant);  // a row deleted since is left alone
  }
  std::sort(targets.begin(), targets.end(),
            [](const auto& a, const auto& b) { return std::tie(a.slug, a.id) < std::tie(b.slug, b.id); });
  return targets;
}

}  // namespace

std::string interrupted_rotation_note(const registry::TenantRecord& tenant, const config::Settings& settings,
                                      const Error& error) {
  const auto* refused = dynamic_cast<const pg::ConnectError*>(&error);
  if (refused == nullptr || !password_refused(*refused)) return {};
  try {
    const auto target = pg::Target::parse(settings.central_connection, "central connection");
    pg::Connection central(target, {settings.connect_timeout});
    registry::PasswordRotations rotations(central, settings.tenants_table);
    if (!rotations.exists() || !rotations.pending(tenant.id)) return {};
    return "; a password rotation of this tenant was interrupted: run migrate rotate-password " + tenant.label();
  } catch (...) {
    return {};
  }
}

int rotate_password(const config::Settings& settings, const RotatePasswordRequest& request, Reporter& reporter) {
  const Sealer sealer(settings);  // the keys are checked before any database is touched
  CentralReader reader(settings);
  const Context context{settings, sealer, reader.target(),
                        registry::PasswordRotations::table_name(settings.tenants_table)};
  const auto prepare = [&](const std::function<void(registry::PasswordRotations&)>& then) {
    try {
      pg::Connection central(reader.target(), reader.connect_options());
      registry::PasswordRotations rotations(central, settings.tenants_table);
      rotations.create_if_missing();
      then(rotations);
    } catch (const InterruptedError&) {
      throw;
    } catch (const Error& error) {
      throw InputError("cannot prepare " + context.side_table + " in the central database: " + error.what() +
                       "; nothing was changed");
    }
  };

  if (request.tenant) {
    const auto tenant = reader.find_tenant(*request.tenant);  // an unknown one: exit 2, nothing created
    prepare([](registry::PasswordRotations&) {});
    const auto rotation = rotate_tenant(tenant, context);
    print(rotation, request.json, reporter);
    return exit_status_of(outcome_of(rotation));
  }

  std::vector<registry::TenantRecord> targets;
  prepare([&](registry::PasswordRotations& rotations) { targets = fleet_targets(reader, rotations); });
  reader.close();

  // The fleet takes the list in one page; the lines are printed in slug order at the end.
  bool listed = false;
  const TenantPages pages = [&](const registry::PageCursor&) {
    if (listed) return std::vector<registry::TenantRecord>();
    listed = true;
    return targets;
  };
  std::mutex mutex;
  std::vector<TenantRotation> results;
  FleetOptions options = request.fleet;
  SilentReporter silent;
  const auto selected_total = static_cast<int>(
      std::count_if(targets.begin(), targets.end(), [&](const auto& tenant) { return selected(tenant, options); }));
  const auto summary = run_fleet(pages, selected_total, options, silent, [&](const registry::TenantRecord& tenant) {
    auto rotation = rotate_tenant(tenant, context);
    auto outcome = outcome_of(rotation);
    std::lock_guard lock(mutex);
    results.push_back(std::move(rotation));
    return outcome;
  });
  std::sort(results.begin(), results.end(), [](const auto& a, const auto& b) { return a.slug < b.slug; });
  int rotated = 0, completed = 0, failed = 0, interrupted = 0;
  for (const auto& rotation : results) {
    print(rotation, request.json, reporter);
    switch (rotation.result) {
      case Result::rotated: ++rotated; break;
      case Result::completed: ++completed; break;
      case Result::failed: ++failed; break;
      case Result::interrupted: ++interrupted; break;
    }
  }
  if (request.json) {
    nlohmann::json object{{"event", "rotate_password_summary"},
                          {"tenants", results.size() + summary.not_started},
                          {"rotated", rotated},
                          {"completed", completed},
                          {"failed", failed},
                          {"interrupted", interrupted},
                          {"not_started", summary.not_started}};
    std::cout << object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  } else {
    std::string total = "Total: " + std::to_string(results.size() + summary.not_started) +
                        " tenants: " + std::to_string(rotated) + " rotated, " + std::to_string(completed) +
                        " completed an interrupted rotation, " + std::to_string(failed) + " failed";
    if (interrupted > 0) total += ", " + std::to_string(interrupted) + " interrupted";
    if (summary.not_started > 0) total += ", " + std::to_string(summary.not_started) + " not started";
    reporter.line(total);
  }
  return exit_status_of(summary);
}

}  // namespace migrate::runner
