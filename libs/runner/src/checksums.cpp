#include "migrate/runner/checksums.hpp"

#include <set>

namespace migrate::runner {

ChecksumCheck check_checksums(const migrations::MigrationSet& set, const std::vector<std::string>& applied_names,
                              const ledger::Checksums& checksums) {
  ChecksumCheck check;
  std::set<std::string> seen;
  for (const auto& name : applied_names) {
    const auto* file = set.find(name);
    if (!file || !seen.insert(file->name).second) continue;
    const auto recorded = checksums.find(file->name);
    if (recorded == checksums.end())
      check.unrecorded.push_back(file);
    else if (recorded->second != file->checksum)
      check.edited.push_back({file->name, recorded->second, file->checksum});
  }
  return check;
}

std::string describe_edited(const std::vector<EditedFile>& edited) {
  std::string text;
  for (const auto& file : edited)
    text += (text.empty() ? "" : ", ") + file.name + " (checksum recorded " + file.recorded.substr(0, 12) +
            ", file now " + file.now.substr(0, 12) + ")";
  return text;
}

EditedError::EditedError(const std::vector<EditedFile>& edited)
    : RunError("applied migration(s) edited since they were applied: " + describe_edited(edited) +
               "; run `migrate validate`; to accept the edit: `migrate repair`; to run anyway: --allow-edited") {}

std::vector<std::string> record_missing_checksums(pqxx::transaction_base& tx, const migrations::MigrationSet& set,
                                                  const ledger::Ledger& ledger) {
  std::vector<std::string> names;
  for (const auto& row : ledger.applied(tx)) names.push_back(row.name);
  const auto check = check_checksums(set, names, ledger.checksums(tx));
  for (const auto* file : check.unrecorded) ledger.record_checksum(tx, file->name, file->checksum);
  if (check.unrecorded.empty()) return {};
  const auto count = check.unrecorded.size();
  return {"recorded checksums of " + std::to_string(count) + (count == 1 ? " migration" : " migrations") +
          " applied before checksums existed (or by knex)"};
}

}  // namespace migrate::runner
