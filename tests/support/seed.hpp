#pragma once
// The seed of a test's random inputs: MIGRATE_TEST_SEED when set, to repeat a run that failed,
// else a fresh one. Tests print it with seed_note().
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

namespace support {

inline std::uint64_t test_seed() {
  if (const char* given = std::getenv("MIGRATE_TEST_SEED")) return std::stoull(given);
  return std::random_device{}();
}

inline std::string seed_note(std::uint64_t seed) {
  return "random seed " + std::to_string(seed) + " (MIGRATE_TEST_SEED=" + std::to_string(seed) + " repeats this run)";
}

}  // namespace support
