#pragma once
// A yes/no question put to the person at the terminal.
#include <string>

namespace migrate::cli {

// Writes `question` to standard error and reads one line from standard input: true for "y" or
// "yes" (any case), false for anything else or the end of input. A stop request (Ctrl-C) while
// it waits throws InterruptedError.
bool ask_yes_no(const std::string& question);

}  // namespace migrate::cli
