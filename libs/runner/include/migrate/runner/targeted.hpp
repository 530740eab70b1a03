#pragma once
// The commands that name what to do: `up [NAME]`, `down [NAME]`, `rollback` with --to, --steps or
// --all, for one tenant or (--to) the whole fleet, and the dry runs of `tenant` and `all-tenants`.
#include <functional>
#include <optional>
#include <string>

#include "migrate/config/settings.hpp"
#include "migrate/runner/engine.hpp"
#include "migrate/runner/fleet.hpp"
#include "migrate/runner/plan.hpp"
#include "migrate/runner/reporter.hpp"

namespace migrate::runner {

// What a rollback undoes, as the operator wrote it: `selection.name` is still the operator's
// NAME (a file name, its timestamp or a part), resolved against the folder or the ledger.
using RollbackRequest = RollbackSelection;

// Asked once the plan is shown and before anything changes; true goes on. May throw InputError
// when nobody can answer.
using Confirmation = std::function<bool(const std::string& question)>;

// `migrate up --tenant X [NAME] [--force]`: the next pending migration, or NAME, as a batch of its
// own. NAME already applied is "already up to date" unless `force`.
int up_tenant(const config::Settings& settings, const std::string& slug_or_id, const std::optional<std::string>& name,
              bool force, const EngineOptions& engine, Reporter& reporter);

// `migrate rollback --tenant X [--all | --to NAME | --steps N]` and `migrate down --tenant X [NAME]`.
int rollback_tenant(const config::Settings& settings, const std::string& slug_or_id, const RollbackRequest& request,
                    const EngineOptions& engine, Reporter& reporter);

// `migrate rollback --all-tenants --to NAME`: reads every selected tenant's ledger first and
// refuses the whole run (InputError, nothing changed) when a migration to undo anywhere has no
// down section or no file; shows the plan; with `plan_only` stops there; otherwise asks `confirm`
// and rolls the fleet back concurrently.
int rollback_fleet(const config::Settings& settings, const FleetOptions& fleet, const std::string& to,
                   const EngineOptions& engine, Reporter& reporter, const Confirmation& confirm, bool plan_only);

// `migrate tenant X --dry-run` and `migrate all-tenants --dry-run` (see dry_run_up()).
int dry_run_tenant(const config::Settings& settings, const std::string& slug_or_id, const EngineOptions& engine,
                   Reporter& reporter);
int dry_run_fleet(const config::Settings& settings, const FleetOptions& fleet, const EngineOptions& engine,
                  Reporter& reporter);

}  // namespace migrate::runner
