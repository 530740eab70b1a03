#include "central_reader.hpp"

#include "migrate/pg/errors.hpp"

namespace migrate::runner {

CentralReader::CentralReader(const config::Settings& settings)
    : settings_(settings),
      target_(pg::Target::parse(settings.central_connection,
                                settings.knexfile.filename().string() + ": " + settings.environment + ".connection")) {
  try {
    open();
  } catch (const Error& error) {
    throw InputError(std::string("central database unreachable: ") + pg::scrub(error.what()) +
                     " (check connection in " + settings.knexfile.filename().string() + ", environment " +
                     settings.environment + ")");
  }
}

registry::TenantRecord CentralReader::find_tenant(const std::string& slug_or_id) {
  std::optional<registry::TenantRecord> tenant;
  try {
    tenant = read([&](registry::TenantRegistry& tenants) { return tenants.find(slug_or_id); });
  } catch (const InterruptedError&) {
    throw;
  } catch (const Error& error) {
    throw InputError("cannot read tenants table " + settings_.tenants_table + ": " + error.what());
  }
  if (!tenant)
    throw InputError("no tenant with slug or id '" + slug_or_id + "' in table " + settings_.tenants_table +
                     " (environment " + settings_.environment + ")");
  close();
  return *tenant;
}

void CentralReader::open() {
  central_ = std::make_unique<pg::Connection>(target_, connect_options());
  tenants_ = std::make_unique<registry::TenantRegistry>(*central_, settings_.tenants_table);
}

}  // namespace migrate::runner
