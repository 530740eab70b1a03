#include <catch2/catch.hpp>
#include <string_view>

#include "migrate/core/printable.hpp"

using migrate::printable;
using namespace std::string_view_literals;

TEST_CASE("printable keeps valid printable UTF-8 as it is", "[core]") {
  CHECK(printable("acme-corp") == "acme-corp");
  CHECK(printable("") == "");
  CHECK(printable("Zo\xc3\xab Caf\xc3\xa9, \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x9a\x80") ==
        "Zo\xc3\xab Caf\xc3\xa9, \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x9a\x80");
  CHECK(printable("no\xc2\xa0"
                  "break, end \xf4\x8f\xbf\xbf") ==
        "no\xc2\xa0"
        "break, end \xf4\x8f\xbf\xbf");
  CHECK(printable("C:\\path \\x1b ~") == "C:\\path \\x1b ~");
}

TEST_CASE("printable escapes newline, carriage return and tab", "[core]") {
  CHECK(printable("a\nb\rc\td") == "a\\nb\\rc\\td");
  CHECK(printable("evil\nSummary: 0 failed\x1b[2J") == "evil\\nSummary: 0 failed\\x1b[2J");
}

TEST_CASE("printable escapes ESC, the other C0 controls and DEL as hex", "[core]") {
  CHECK(printable("\x1b]0;title\x07") == "\\x1b]0;title\\x07");
  CHECK(printable("a\0b"sv) == "a\\x00b");
  CHECK(printable("\x01\x08\x0b\x0c\x1f\x7f") == "\\x01\\x08\\x0b\\x0c\\x1f\\x7f");
}

TEST_CASE("printable escapes C1 controls, line separators and bidi overrides as code points", "[core]") {
  CHECK(printable("\xc2\x80") == "\\u0080");
  CHECK(printable("\xc2\x9b"
                  "31m") == "\\u009b31m");
  CHECK(printable("a\xc2\x85z\xc2\x9f") == "a\\u0085z\\u009f");
  CHECK(printable("\xe2\x80\xa8\xe2\x80\xa9") == "\\u2028\\u2029");
  CHECK(printable("abc\xe2\x80\xae"
                  "fed") == "abc\\u202efed");
  CHECK(printable("\xe2\x81\xa6x\xe2\x81\xa9") == "\\u2066x\\u2069");
}

TEST_CASE("printable escapes each byte of invalid UTF-8 as hex", "[core]") {
  CHECK(printable("bad byte \xff") == "bad byte \\xff");
  CHECK(printable("\x80") == "\\x80");  // a lone continuation byte
  CHECK(printable("\xe6\x9d"
                  "A") == "\\xe6\\x9dA");                                   // cut short, then ASCII
  CHECK(printable("end \xe6\x9d") == "end \\xe6\\x9d");                     // cut short at the end
  CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");                             // overlong '/'
  CHECK(printable("\xe0\x80\xaf") == "\\xe0\\x80\\xaf");                    // overlong '/', three bytes
  CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");                    // a UTF-16 surrogate
  CHECK(printable("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");           // above U+10FFFF
  CHECK(printable("\xf8\x88\x80\x80\x80") == "\\xf8\\x88\\x80\\x80\\x80");  // five-byte form
  CHECK(printable("\xc3\xa9\xff\xc3\xa9") == "\xc3\xa9\\xff\xc3\xa9");      // valid around invalid
}
