#pragma once
// Reading a knexfile's YAML, with the checks yaml-cpp 0.7 leaves out. Private to libs/config.
#include <yaml-cpp/yaml.h>

#include <filesystem>

namespace migrate::config {

// The YAML document in the file at `path`. Throws InputError "FILE:LINE: malformed YAML: ..." for
// text yaml-cpp refuses, and for a double- or single-quoted value (or key) whose closing quote never
// comes, which yaml-cpp 0.7 accepts when the file ends after a line break, gluing every following
// line into the value; LINE is then the line of the opening quote.
YAML::Node load_yaml_file(const std::filesystem::path& path);

}  // namespace migrate::config
