#include "preflight.hpp"

#include <algorithm>
#include <csignal>

#include "migrate/core/error.hpp"
#include "migrate/core/interrupt.hpp"
#include "migrate/crypto/key_ring.hpp"
#include "migrate/registry/tenant_registry.hpp"

namespace migrate::runner {
namespace {

constexpr int page_size = 500;

}  // namespace

Preflight::Preflight(const config::Settings& config)
    : settings(config),
      set(migrations::MigrationSet::load(config.tenant_migrations.directory,
                                         config.tenant_migrations.legacy_extensions)),
      key(crypto::KeyRing::from_environment()),
      ledger(config.tenant_migrations.table_name),
      central(config) {}

TenantPages Preflight::pages() {
  return [this](const registry::PageCursor& after) {
    return central.read([&](registry::TenantRegistry& tenants) { return tenants.active_page(after, page_size); });
  };
}

int Preflight::selected_count(const FleetOptions& fleet) {
  try {
    if (fleet.only.empty() && fleet.exclude.empty() && !fleet.shard)
      return central.read([](registry::TenantRegistry& tenants) { return tenants.count_active(); });
    int count = 0;
    const auto next = pages();
    for (registry::PageCursor after;;) {
      const auto page = next(after);
      if (page.empty()) break;
      after = {page.back().slug, page.back().id};
      count += static_cast<int>(
          std::count_if(page.begin(), page.end(), [&](const auto& tenant) { return selected(tenant, fleet); }));
    }
    return count;
  } catch (const InterruptedError&) {
    throw;
  } catch (const Error& error) {
    throw InputError("cannot read tenants table " + settings.tenants_table + ": " + error.what());
  }
}

std::vector<std::string> Preflight::first_selected(const FleetOptions& fleet, std::size_t limit) {
  std::vector<std::string> labels;
  try {
    const auto next = pages();
    for (registry::PageCursor after; labels.size() < limit;) {
      const auto page = next(after);
      if (page.empty()) break;
      after = {page.back().slug, page.back().id};
      for (const auto& tenant : page)
        if (labels.size() < limit && selected(tenant, fleet)) labels.push_back(tenant.label());
    }
  } catch (const InterruptedError&) {
    throw;
  } catch (const Error& error) {
    throw InputError("cannot read tenants table " + settings.tenants_table + ": " + error.what());
  }
  return labels;
}

int exit_status_of(const TenantOutcome& outcome) {
  if (outcome.state == TenantState::interrupted)
    return interrupt::signal_number() == SIGINT ? exit_sigint : exit_sigterm;
  return outcome.state == TenantState::failed ? exit_failed : exit_ok;
}

int exit_status_of(const FleetSummary& summary) {
  // A signal that came when every tenant was done changed nothing: the run's own status stands.
  if (summary.interrupted + summary.not_started > 0 && interrupt::requested())
    return interrupt::signal_number() == SIGINT ? exit_sigint : exit_sigterm;
  return summary.failed > 0 || !summary.listing_error.empty() ? exit_failed : exit_ok;
}

}  // namespace migrate::runner
