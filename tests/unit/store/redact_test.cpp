// What libpq says about a connection string it cannot use, with every
// credential taken out (messages are libpq 15's where libpq writes them).
#include "redact.hpp"

#include <gtest/gtest.h>

namespace seesaw::detail {
namespace {

TEST(Redact, AUrlInTheMessageKeepsAllButItsPassword) {
    EXPECT_EQ(redact("cannot use \"postgresql://alice:s3cr3t@db.example.com:5432/app\"",
                     "postgresql://alice:s3cr3t@db.example.com:5432/app"),
              "cannot use \"postgresql://alice:***@db.example.com:5432/app\"");
    // Any URL, not only the conninfo's.
    EXPECT_EQ(redact("see postgres://bob:pw@other/db?sslmode=require and more", ""),
              "see postgres://bob:***@other/db?sslmode=require and more");
}

TEST(Redact, AMalformedPercentEscapeInThePassword) {
    EXPECT_EQ(redact("invalid percent-encoded token: \"se%zzcret\"", "postgresql://u:se%zzcret@127.0.0.1:5432/db"),
              "invalid percent-encoded token: \"***\"");
}

TEST(Redact, AnUnclosedBracket) {
    EXPECT_EQ(redact("end of string reached when looking for matching \"]\" in IPv6 host address in URI: "
                     "\"postgresql://u:secret@[::1/db\"",
                     "postgresql://u:secret@[::1/db"),
              "end of string reached when looking for matching \"]\" in IPv6 host address in URI: "
              "\"postgresql://u:***@[::1/db\"");
}

TEST(Redact, APercentEncodedPasswordInBothForms) {
    const std::string url = "postgresql://u:p%40ss%20word@db/app";
    EXPECT_EQ(redact("rejected \"p@ss word\" and \"p%40ss%20word\"", url), "rejected \"***\" and \"***\"");
}

TEST(Redact, APasswordWithAnUnescapedAtOrSlashInAUrl) {
    // libpq reads "u:se" as host and port, or "ss@127.0.0.1" as the host.
    EXPECT_EQ(redact("invalid integer value \"se\" for connection option \"port\"",
                     "postgresql://u:se/cret@127.0.0.1:5432/db"),
              "invalid integer value \"***\" for connection option \"port\"");
    EXPECT_EQ(redact("could not translate host name \"ss@127.0.0.1\" to address",
                     "postgresql://u:p@ss@127.0.0.1:5432/db"),
              "could not translate host name \"***@127.0.0.1\" to address");
}

TEST(Redact, AQuotedKeywordPasswordWithSpacesAndAnEscapedQuote) {
    const std::string conninfo = R"(host=db port=5432 password = 'it\'s my secret' dbname=app)";
    EXPECT_EQ(redact(R"(echoed: it's my secret; raw: it\'s my secret; again: password='it\'s my secret' dbname=app)",
                     conninfo),
              "echoed: ***; raw: ***; again: password='***' dbname=app");
    // Unterminated: the rest is the password.
    EXPECT_EQ(redact("got 'my secret", "host=db password='my secret"), "got '***");
}

TEST(Redact, AnUnquotedKeywordPasswordWithASpace) {
    // libpq takes "horse" for the next keyword and quotes it.
    EXPECT_EQ(redact("missing \"=\" after \"horse\" in connection info string",
                     "host=db password=correct horse dbname=app"),
              "missing \"=\" after \"***\" in connection info string");
    EXPECT_EQ(redact("a correct answer", "host=db password=correct horse"), "a *** answer");
}

TEST(Redact, APasswordQueryParameter) {
    EXPECT_EQ(redact("invalid percent-encoded token: \"hunter%zz2\"", "postgresql://u@db/app?password=hunter%zz2"),
              "invalid percent-encoded token: \"***\"");
    EXPECT_EQ(redact("in postgresql://u@db/app?sslmode=require&password=hunter2&connect_timeout=5",
                     "postgresql://u@db/app?sslmode=require&password=hunter2&connect_timeout=5"),
              "in postgresql://u@db/app?sslmode=require&password=***&connect_timeout=5");
    EXPECT_EQ(redact("password=x sslpassword='y z' passwords=kept", ""),
              "password=*** sslpassword='***' passwords=kept");
}

TEST(Redact, AOneCharacterPasswordOnlyWhereItStandsAlone) {
    const std::string url = "postgresql://u:s@[::1/db";
    EXPECT_EQ(redact("end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"" + url +
                         "\"",
                     url),
              "end of string reached when looking for matching \"]\" in IPv6 host address in URI: "
              "\"postgresql://u:***@[::1/db\"");
    EXPECT_EQ(redact("the password is s, or \"s\"", url), "the password is ***, or \"***\"");
}

TEST(Redact, AMessageWithoutCredentialsIsUnchanged) {
    const std::string refused = "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused\n"
                                "\tIs the server running on that host and accepting TCP/IP connections?";
    EXPECT_EQ(redact(refused, "postgresql://alice:s3cr3t@127.0.0.1:5432/app"), refused);
    EXPECT_EQ(redact(refused, "postgresql://alice@127.0.0.1/app"), refused);
    EXPECT_EQ(redact(refused, "host=127.0.0.1 dbname=app"), refused);
    EXPECT_EQ(redact(refused, ""), refused);
    EXPECT_EQ(redact("see postgresql://alice@db/app?user=me@example.com", ""),
              "see postgresql://alice@db/app?user=me@example.com");
    EXPECT_EQ(redact("", "postgresql://u:pw@db/app"), "");
}

}  // namespace
}  // namespace seesaw::detail
