#pragma once
// Keeps credentials out of error messages and logs. libpq's complaint about
// a connection string it cannot read quotes the part it choked on (a bad
// percent-escape, an unclosed '[', the whole URL), password included.

#include <string>
#include <string_view>

namespace seesaw::detail {

// `message` with every credential removed: the passwords that `conninfo` (a
// postgresql:// URL or key=value pairs, well-formed or not) holds, in raw and
// decoded form, and the password of every URL and every password=... value
// in the message itself. Each becomes ***; users, hosts, ports and database
// names stay, so that the message still says what is wrong.
std::string redact(std::string_view message, std::string_view conninfo);

}  // namespace seesaw::detail
