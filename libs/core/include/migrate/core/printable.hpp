#pragma once
// Text from outside (slugs, names, server messages) made safe to print on one line of a terminal.
#include <string>
#include <string_view>

namespace migrate {

// `text` with every character that could start a line or drive a terminal shown escaped:
// newline, carriage return and tab as `\n`, `\r`, `\t`; other C0 controls and DEL as `\xNN`
// (ESC is `\x1b`); C1 controls, the line and paragraph separators and the bidirectional
// overrides and isolates as `\uNNNN`; each byte that is not part of valid UTF-8 as `\xNN`.
// Valid printable UTF-8, backslashes included, is kept as it is.
std::string printable(std::string_view text);

}  // namespace migrate
