#include "dashboard.hpp"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api.hpp"
#include "output.hpp"
#include "seesaw/core/error.hpp"
#include "seesaw/core/log.hpp"
#include "throughput.hpp"
#include "web_assets.hpp"

namespace seesaw::web {
namespace {

constexpr std::string_view session_cookie = "seesaw_session";
constexpr std::string_view json_type = "application/json";

std::string random_hex(std::size_t bytes) {
    std::random_device device;  // the kernel's CSPRNG on Linux
    constexpr std::string_view digits = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < bytes; ++i) {
        const auto byte = static_cast<unsigned>(device()) & 0xffu;
        out += digits[byte >> 4];
        out += digits[byte & 0xf];
    }
    return out;
}

// Compares without stopping at the first difference, so the time a guess
// takes does not tell how much of it was right.
bool same_secret(std::string_view given, std::string_view secret) {
    if (secret.empty() || given.size() != secret.size()) return false;
    unsigned diff = 0;
    for (std::size_t i = 0; i < secret.size(); ++i)
        diff |= static_cast<unsigned char>(given[i]) ^ static_cast<unsigned char>(secret[i]);
    return diff == 0;
}

std::string json_error(std::string_view message, std::string_view parameter = {}) {
    rapidjson::StringBuffer buffer;
    cli::JsonWriter json(buffer);
    json.StartObject();
    cli::write_key(json, "error");
    cli::write_string(json, message);
    if (!parameter.empty()) {
        cli::write_key(json, "parameter");
        cli::write_string(json, parameter);
    }
    json.EndObject();
    return std::string(buffer.GetString(), buffer.GetSize());
}

std::optional<std::string> cookie_value(const httplib::Request& req, std::string_view name) {
    for (std::size_t i = 0; i < req.get_header_value_count("Cookie"); ++i) {
        const std::string value = req.get_header_value("Cookie", i);
        std::string_view header = value;
        while (!header.empty()) {
            auto end = header.find(';');
            std::string_view pair = header.substr(0, end);
            header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
            while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
            auto eq = pair.find('=');
            if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
        }
    }
    return std::nullopt;
}

bool is_api(const httplib::Request& req) { return req.path.starts_with("/api/"); }

}  // namespace

ListenAddress parse_listen(std::string_view text) {
    const auto bad = [&](std::string_view why) {
        return UsageError("--listen '" + std::string(text) + "': " + std::string(why) +
                          " (expected HOST:PORT, e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080)");
    };
    ListenAddress out;
    std::string_view port;
    if (text.starts_with("[")) {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            throw bad("an IPv6 address needs [brackets] and a port");
        out.host = std::string(text.substr(1, close - 1));
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) throw bad("no port");
        out.host = std::string(text.substr(0, colon));
        if (out.host.find(':') != std::string::npos) throw bad("an IPv6 address needs [brackets]");
        port = text.substr(colon + 1);
    }
    if (out.host.empty()) throw bad("no host");
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || out.port < 0 || out.port > 65535)
        throw bad("the port must be a number from 0 to 65535");
    return out;
}

bool is_loopback(std::string_view host) {
    if (host == "localhost" || host == "::1") return true;
    // 127.0.0.0/8, dotted quad only.
    if (!host.starts_with("127.")) return false;
    int parts = 0;
    std::size_t at = 0;
    while (at <= host.size()) {
        auto dot = host.find('.', at);
        auto part = host.substr(at, dot == std::string_view::npos ? std::string_view::npos : dot - at);
        int value = -1;
        auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
        if (part.empty() || ec != std::errc() || end != part.data() + part.size() || value > 255) return false;
        ++parts;
        if (dot == std::string_view::npos) break;
        at = dot + 1;
    }
    return parts == 4;
}

struct Dashboard::State {
    State(PgJobStore& job_store, DashboardOptions given)
        : store(job_store),
          options(std::move(given)),
          listen(parse_listen(options.listen)),
          throughput(job_store, options.sample_interval, options.samples_kept),
          api(job_store, throughput),
          csrf_token(random_hex(32)) {}

    PgJobStore& store;
    DashboardOptions options;
    ListenAddress listen;
    ThroughputSampler throughput;
    Api api;
    const std::string csrf_token;
    int port = 0;

    httplib::Server server;
    std::thread server_thread;
    std::atomic<bool> server_returned{false};  // written by server_thread when its accept loop ends
    bool started = false;

    std::mutex sessions_mutex;
    std::set<std::string, std::less<>> sessions;  // guarded by sessions_mutex

    // Whether the last database call failed: logged on each change only.
    std::atomic<bool> database_down{false};

    // --- the checks before routing --------------------------------------------------

    bool host_allowed(const httplib::Request& req) const {
        if (options.token) return true;  // a token guards it; the Host does not matter
        std::string host = req.get_header_value("Host");
        const std::string port_suffix = ":" + std::to_string(port);
        if (host.ends_with(port_suffix)) host.resize(host.size() - port_suffix.size());
        if (host.starts_with("[") && host.ends_with("]")) host = host.substr(1, host.size() - 2);
        return is_loopback(host);
    }

    bool authenticated(const httplib::Request& req) {
        if (!options.token) return true;
        const std::string authorization = req.get_header_value("Authorization");
        if (authorization.starts_with("Bearer ") && same_secret(authorization.substr(7), *options.token)) return true;
        if (auto session = cookie_value(req, session_cookie)) {
            std::lock_guard lock(sessions_mutex);
            return sessions.contains(*session);
        }
        return false;
    }

    bool same_origin(const httplib::Request& req) const {
        if (!req.has_header("Origin")) return true;  // not a browser's cross-site form: the CSRF header decides
        return req.get_header_value("Origin") == "http://" + req.get_header_value("Host");
    }

    httplib::Server::HandlerResponse before_routing(const httplib::Request& req, httplib::Response& res) {
        using R = httplib::Server::HandlerResponse;
        res.set_header("X-Content-Type-Options", "nosniff");
        res.set_header("Referrer-Policy", "no-referrer");
        res.set_header("X-Frame-Options", "DENY");
        res.set_header("Cache-Control", "no-store");
        res.set_header("Content-Security-Policy",
                       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
        if (!host_allowed(req)) {
            res.status = 403;
            res.set_content(json_error("the Host header must name this server's loopback address"), json_type.data());
            return R::Handled;
        }
        const bool login = req.path == "/login" || req.path == "/app.css";
        if (!login && !authenticated(req)) {
            if (is_api(req) || req.method != "GET") {
                res.status = 401;
                res.set_header("WWW-Authenticate", "Bearer realm=\"seesaw\"");
                res.set_content(json_error("authentication required: send 'Authorization: Bearer <token>' "
                                           "(the token in the file given to --token-file) or log in at /login"),
                                json_type.data());
            } else {
                res.status = 303;
                res.set_header("Location", "/login");
            }
            return R::Handled;
        }
        if (req.method == "POST" && req.path != "/login") {
            if (!same_origin(req) || !same_secret(req.get_header_value("X-CSRF-Token"), csrf_token)) {
                res.status = 403;
                res.set_content(json_error("missing or wrong X-CSRF-Token header: send the csrf_token of "
                                           "GET /api/session with every POST"),
                                json_type.data());
                return R::Handled;
            }
            if (options.read_only && req.path != "/logout") {
                res.status = 403;
                res.set_content(json_error("the dashboard is read-only (seesaw web --read-only): nothing was changed"),
                                json_type.data());
                return R::Handled;
            }
        }
        return R::Unhandled;
    }

    // --- endpoints ------------------------------------------------------------------

    template <class F>
    httplib::Server::Handler json_endpoint(F f) {
        return [this, f](const httplib::Request& req, httplib::Response& res) {
            try {
                res.set_content(f(req), json_type.data());
                if (database_down.exchange(false)) log(LogLevel::info, "seesaw web: the database is reachable again");
            } catch (const ApiError& e) {
                res.status = e.status();
                res.set_content(json_error(e.what(), e.parameter()), json_type.data());
            } catch (const ConnectionError& e) {
                // Already free of credentials (the store redacts libpq's messages).
                res.status = 503;
                res.set_content(json_error(std::string("the database cannot be reached: ") + e.what()),
                                json_type.data());
                if (!database_down.exchange(true))
                    log(LogLevel::warn, std::string("seesaw web: the database cannot be reached: ") + e.what());
            } catch (const std::exception& e) {
                res.status = 500;
                res.set_content(json_error(e.what()), json_type.data());
                log(LogLevel::error, "seesaw web: " + req.method + " " + req.path + ": " + e.what());
            }
        };
    }

    void serve_asset(httplib::Response& res, std::string_view name) {
        const auto* asset = find_asset(name);
        res.set_content(asset->body.data(), asset->body.size(), asset->content_type.data());
    }

    void session_info(httplib::Response& res) {
        rapidjson::StringBuffer buffer;
        cli::JsonWriter json(buffer);
        json.StartObject();
        cli::write_key(json, "schema");
        cli::write_string(json, store.schema());
        cli::write_key(json, "read_only");
        json.Bool(options.read_only);
        cli::write_key(json, "csrf_token");
        cli::write_string(json, csrf_token);
        cli::write_key(json, "login");
        json.Bool(options.token.has_value());
        cli::write_key(json, "refresh_s");
        json.Double(std::chrono::duration<double>(options.sample_interval).count());
        json.EndObject();
        res.set_content(std::string(buffer.GetString(), buffer.GetSize()), json_type.data());
    }

    void login(const httplib::Request& req, httplib::Response& res) {
        if (!options.token) {
            res.status = 303;
            res.set_header("Location", "/");
            return;
        }
        if (!same_secret(req.get_param_value("token"), *options.token)) {
            res.status = 401;
            const auto* page = find_asset("login.html");
            std::string body(page->body);
            const std::string marker = "<p id=\"login-error\" hidden>";
            if (auto at = body.find(marker); at != std::string::npos) body.replace(at, marker.size(), "<p id=\"login-error\">");
            res.set_content(body, page->content_type.data());
            log(LogLevel::warn, "seesaw web: a login with a wrong token from " + req.remote_addr);
            return;
        }
        const std::string session = random_hex(32);
        {
            std::lock_guard lock(sessions_mutex);
            sessions.insert(session);
        }
        res.status = 303;
        res.set_header("Set-Cookie", std::string(session_cookie) + "=" + session + "; Path=/; HttpOnly; SameSite=Strict");
        res.set_header("Location", "/");
    }

    void logout(const httplib::Request& req, httplib::Response& res) {
        if (auto session = cookie_value(req, session_cookie)) {
            std::lock_guard lock(sessions_mutex);
            sessions.erase(*session);
        }
        res.set_header("Set-Cookie", std::string(session_cookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
        res.set_content("{\"logged_out\":true}", json_type.data());
    }

    void routes() {
        server.set_pre_routing_handler([this](const auto& req, auto& res) { return before_routing(req, res); });
        server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty()) return;
            if (res.status == 404) {
                res.set_content(json_error("no such endpoint: " + req.method + " " + req.path.substr(0, 200)),
                                json_type.data());
            } else {
                res.set_content(json_error("HTTP " + std::to_string(res.status)), json_type.data());
            }
        });
        server.set_payload_max_length(64 * 1024);
        // A small answer goes out at once (Nagle's wait for the client's
        // delayed ACK cost 40 ms a request on keep-alive connections).
        server.set_tcp_nodelay(true);

        server.Get("/", [this](const auto&, auto& res) { serve_asset(res, "index.html"); });
        server.Get("/app.js", [this](const auto&, auto& res) { serve_asset(res, "app.js"); });
        server.Get("/app.css", [this](const auto&, auto& res) { serve_asset(res, "app.css"); });
        server.Get("/login", [this](const auto&, auto& res) {
            if (!options.token) {
                res.status = 303;
                res.set_header("Location", "/");
                return;
            }
            serve_asset(res, "login.html");
        });
        server.Post("/login", [this](const auto& req, auto& res) { login(req, res); });
        server.Post("/logout", [this](const auto& req, auto& res) { logout(req, res); });
        server.Get("/api/session", [this](const auto&, auto& res) { session_info(res); });

        server.Get("/api/queues", json_endpoint([this](const httplib::Request&) { return api.queues(); }));
        server.Get("/api/jobs", json_endpoint([this](const httplib::Request& req) {
                       return api.jobs(parse_job_list_query(req.params));
                   }));
        server.Get(R"(/api/jobs/([^/]+))", json_endpoint([this](const httplib::Request& req) {
                       return api.job(parse_job_id_param(req.matches[1].str()));
                   }));
        server.Post(R"(/api/jobs/([^/]+)/(retry|cancel|delete))", json_endpoint([this](const httplib::Request& req) {
                        const JobId id = parse_job_id_param(req.matches[1].str());
                        const std::string action = req.matches[2].str();
                        if (action == "retry") return api.retry_job(id);
                        if (action == "cancel") return api.cancel_job(id);
                        return api.delete_job(id);
                    }));
        server.Post("/api/dead-letters/retry",
                    json_endpoint([this](const httplib::Request& req) { return api.retry_dead_letters(req.body); }));
        server.Post(R"(/api/queues/(.+)/(pause|resume))", json_endpoint([this](const httplib::Request& req) {
                        return api.pause_queue(req.matches[1].str(), req.matches[2].str() == "pause");
                    }));
    }
};

Dashboard::Dashboard(PgJobStore& store, DashboardOptions options) {
    const auto listen = parse_listen(options.listen);
    if (!is_loopback(listen.host) && !options.token) {
        throw UsageError("refusing to listen on " + options.listen +
                         " without a token: anyone who can reach it could read and change the queue. "
                         "Give --token-file FILE (a secret of at least " + std::to_string(min_token_length) +
                         " characters), or listen on 127.0.0.1");
    }
    if (options.token && options.token->size() < min_token_length) {
        throw UsageError("the token is " + std::to_string(options.token->size()) + " characters long; it must have at least " +
                         std::to_string(min_token_length));
    }
    state_ = std::make_unique<State>(store, std::move(options));
    state_->routes();
}

Dashboard::~Dashboard() { stop(); }

void Dashboard::start() {
    auto& s = *state_;
    if (s.started) return;
    const auto& host = s.listen.host;
    if (s.listen.port == 0) {
        s.port = s.server.bind_to_any_port(host);
        if (s.port < 0) throw UsageError("--listen " + s.options.listen + ": cannot bind to " + host);
    } else {
        if (!s.server.bind_to_port(host, s.listen.port))
            throw UsageError("--listen " + s.options.listen + ": cannot bind (in use, or not an address of this host)");
        s.port = s.listen.port;
    }
    s.throughput.start();
    s.server_returned = false;
    s.server_thread = std::thread([&s] {
        s.server.listen_after_bind();
        s.server_returned = true;
    });
    s.started = true;
    // stop() is only safe once the accept loop runs.
    while (!s.server.is_running() && !s.server_returned) std::this_thread::yield();
    if (s.server_returned) {
        s.server_thread.join();
        s.throughput.stop();
        s.started = false;
        throw UsageError("--listen " + s.options.listen + ": the server could not start");
    }
}

void Dashboard::stop() {
    if (!state_ || !state_->started) return;
    auto& s = *state_;
    s.server.stop();
    if (s.server_thread.joinable()) s.server_thread.join();
    s.throughput.stop();
    s.started = false;
}

int Dashboard::port() const noexcept { return state_->port; }

std::string Dashboard::url() const {
    const auto& host = state_->listen.host;
    const bool v6 = host.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(state_->port) + "/";
}

}  // namespace seesaw::web
