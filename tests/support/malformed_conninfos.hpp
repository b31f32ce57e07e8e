#pragma once
// Connection strings that libpq refuses with a message quoting the part it
// could not read, which holds the password. Each points at the test server,
// so that only the malformed part can fail.

#include <string>
#include <vector>

namespace seesaw::test {

struct MalformedConninfo {
    std::string conninfo;
    std::string password;  // must appear in no message, in whole or in part
    std::string reason;    // what the message must still say
};

// Empty when `test_url` is not a postgresql:// URL (the cases need its host).
inline std::vector<MalformedConninfo> malformed_conninfos(const std::string& test_url) {
    const std::string scheme = "postgresql://";
    if (!test_url.starts_with(scheme)) return {};
    std::string server = test_url.substr(scheme.size(), test_url.find_first_of("/?", scheme.size()) - scheme.size());
    if (auto at = server.rfind('@'); at != std::string::npos) server.erase(0, at + 1);
    std::string host = server;
    std::string port = "5432";
    if (auto colon = server.rfind(':'); colon != std::string::npos && server.find(']', colon) == std::string::npos) {
        host = server.substr(0, colon);
        port = server.substr(colon + 1);
    }
    if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
    return {
        {"postgresql://postgres:hunter%zz2@" + server + "/seesaw", "hunter", "invalid percent-encoded token"},
        {"postgresql://postgres:hunter2@" + server + ",[::1/seesaw", "hunter2",
         "looking for matching \"]\" in IPv6 host address in URI: \"postgresql://postgres:***@" + server},
        {"postgresql://postgres@" + server + "/seesaw?password=hunter%zz2", "hunter", "invalid percent-encoded token"},
        // Unquoted, libpq takes "horse" for the next keyword.
        {"host=" + host + " port=" + port + " user=postgres dbname=seesaw password=correct horse", "horse",
         "missing \"=\""},
    };
}

}  // namespace seesaw::test
