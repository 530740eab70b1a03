#include "migrate/core/printable.hpp"

namespace migrate {

std::string printable(std::string_view text) {
  return std::string(text);
}

}  // namespace migrate
