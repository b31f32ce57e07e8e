#pragma once
// `seesaw web`: the dashboard's HTTP server (cpp-httplib) over one store.
// Serves the page (HTML, CSS and JavaScript embedded in the binary) and the
// JSON API it uses (api.hpp), and samples throughput in the background.
//
// Security, in the order a request meets it:
//   1. without a token (loopback only): the Host header must name the
//      loopback address it listens on (a DNS-rebinding page cannot use it);
//   2. with a token: a bearer header or the session cookie set by the login
//      form, else 401 (API) or a redirect to /login (pages);
//   3. every POST: the X-CSRF-Token header must carry the server's token
//      (GET /api/session), and an Origin header, when sent, must be this
//      server, else 403;
//   4. --read-only: every action is refused with 403.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "seesaw/store/pg_job_store.hpp"

namespace seesaw::web {

struct DashboardOptions {
    // host:port; port 0 picks a free one (see Dashboard::port).
    std::string listen = "127.0.0.1:8080";
    bool read_only = false;
    // Required to listen on anything but a loopback address.
    std::optional<std::string> token = std::nullopt;
    // Throughput sampling: how often, and how many samples the chart shows.
    std::chrono::milliseconds sample_interval{2000};
    std::size_t samples_kept = 300;
};

struct ListenAddress {
    std::string host;  // without brackets for IPv6
    int port = 0;
};

// "127.0.0.1:8080", "localhost:0", "[::1]:8080", "0.0.0.0:80". Throws
// UsageError naming --listen and what it expects.
ListenAddress parse_listen(std::string_view text);
// 127.0.0.0/8, ::1 and localhost.
bool is_loopback(std::string_view host);
// The shortest token the server accepts (a token guards the whole queue).
inline constexpr std::size_t min_token_length = 16;

class Dashboard {
public:
    // Checks the options: throws UsageError for an address that does not
    // parse, a non-loopback address without a token, or a short token.
    Dashboard(PgJobStore& store, DashboardOptions options);
    ~Dashboard();
    Dashboard(const Dashboard&) = delete;
    Dashboard& operator=(const Dashboard&) = delete;

    // Binds (UsageError naming the address when it cannot), starts the
    // sampler and the server's threads, and returns once it accepts.
    void start();
    // Stops accepting, finishes the requests under way, stops the sampler.
    void stop();

    int port() const noexcept;
    // "http://127.0.0.1:8080/"
    std::string url() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace seesaw::web
