#include "metrics_server.hpp"

#include <array>
#include <cstring>

#include "seesaw/core/error.hpp"
#include "seesaw/core/log.hpp"

namespace seesaw::detail {

struct MetricsServer::Client {
    uv_tcp_t handle{};  // data: this Client
    uv_write_t write{};
    MetricsServer* server = nullptr;  // null once dropped: a cancelled write's callback does nothing more
    std::string request;
    std::string response;
    std::array<char, 4096> buffer{};  // each read lands here, then is appended to request
};

namespace {
constexpr std::size_t max_request_bytes = 8192;

uv_stream_t* stream_of(uv_tcp_t* handle) noexcept { return reinterpret_cast<uv_stream_t*>(handle); }
}  // namespace

MetricsServer::MetricsServer(uv_loop_t* loop, std::function<std::string()> render)
    : loop_(loop), render_(std::move(render)) {}

MetricsServer::~MetricsServer() { close(); }

int MetricsServer::listen(const std::string& address) {
    auto colon = address.rfind(':');
    if (colon == std::string::npos) {
        throw UsageError("metrics_listen '" + address + "' must be host:port, e.g. 127.0.0.1:9464");
    }
    std::string host = address.substr(0, colon);
    int port = 0;
    try {
        std::size_t used = 0;
        port = std::stoi(address.substr(colon + 1), &used);
        if (used != address.size() - colon - 1 || port < 0 || port > 65535) throw std::out_of_range("port");
    } catch (const std::exception&) {
        throw UsageError("metrics_listen '" + address + "': the port must be a number from 0 to 65535");
    }
    sockaddr_storage storage{};
    int rc = 0;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        rc = uv_ip6_addr(host.substr(1, host.size() - 2).c_str(), port, reinterpret_cast<sockaddr_in6*>(&storage));
    } else {
        rc = uv_ip4_addr(host.empty() ? "0.0.0.0" : host.c_str(), port, reinterpret_cast<sockaddr_in*>(&storage));
    }
    if (rc != 0) throw UsageError("metrics_listen '" + address + "': '" + host + "' is not an IP address");

    auto cannot_listen = [&](int error) {
        server_.close();
        return UsageError("metrics_listen '" + address + "': cannot listen: " + uv_strerror(error));
    };
    rc = server_.open([this](uv_tcp_t* handle) { return uv_tcp_init(loop_, handle); });
    if (rc != 0) throw cannot_listen(rc);
    server_.get()->data = this;
    address_ = address;
    rc = uv_tcp_bind(server_.get(), reinterpret_cast<const sockaddr*>(&storage), 0);
    if (rc == 0) rc = uv_listen(stream_of(server_.get()), 64, &MetricsServer::on_connection);
    if (rc != 0) throw cannot_listen(rc);
    sockaddr_storage bound{};
    int length = sizeof bound;
    rc = uv_tcp_getsockname(server_.get(), reinterpret_cast<sockaddr*>(&bound), &length);
    if (rc != 0) throw cannot_listen(rc);
    return bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                       : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

void MetricsServer::close() {
    server_.close();
    while (!clients_.empty()) drop(*clients_.begin()->first);
}

void MetricsServer::warn(const std::string& what) const {
    log(LogLevel::warn, "metrics endpoint " + address_ + ": " + what);
}

void MetricsServer::on_connection(uv_stream_t* stream, int status) {
    auto* self = static_cast<MetricsServer*>(stream->data);
    try {
        if (status < 0) {
            self->warn(std::string("accepting a client failed: ") + uv_strerror(status));
            return;
        }
        self->accept();
    } catch (const std::exception& e) {
        log(LogLevel::error, std::string("metrics endpoint: accepting a client failed: ") + e.what());
    }
}

void MetricsServer::accept() {
    auto owned = std::make_unique<Client>();
    Client& client = *owned;
    client.server = this;
    auto slot = clients_.emplace(&client, nullptr).first;  // the allocation that may throw, before any handle
    if (int rc = uv_tcp_init(loop_, &client.handle); rc != 0) {
        clients_.erase(slot);
        warn(std::string("accepting a client failed: ") + uv_strerror(rc));
        return;
    }
    client.handle.data = &client;
    slot->second = std::move(owned);  // from here on, drop() closes and frees it
    if (int rc = uv_accept(stream_of(server_.get()), stream_of(&client.handle)); rc != 0) {
        warn(std::string("accepting a client failed: ") + uv_strerror(rc));
        drop(client);
        return;
    }
    int rc = uv_read_start(
        stream_of(&client.handle),
        [](uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
            auto* c = static_cast<Client*>(handle->data);
            *buf = uv_buf_init(c->buffer.data(), static_cast<unsigned>(c->buffer.size()));
        },
        [](uv_stream_t* stream, ssize_t n, const uv_buf_t*) {
            auto* c = static_cast<Client*>(stream->data);
            auto* server = c->server;
            try {
                server->on_read(*c, n);
            } catch (const std::exception& e) {
                server->warn(std::string("serving a client failed: ") + e.what());
                server->drop(*c);
            } catch (...) {
                server->warn("serving a client failed: unknown exception");
                server->drop(*c);
            }
        });
    if (rc != 0) {
        warn(std::string("reading from a client failed: ") + uv_strerror(rc));
        drop(client);
    }
}

void MetricsServer::on_read(Client& client, ssize_t n) {
    if (n == UV_EOF) {
        log(LogLevel::debug, "metrics endpoint " + address_ + ": a client closed before its request ended");
        drop(client);
        return;
    }
    if (n < 0) {
        warn(std::string("reading a client's request failed (") + uv_strerror(static_cast<int>(n)) +
             "); closed it");
        drop(client);
        return;
    }
    client.request.append(client.buffer.data(), static_cast<std::size_t>(n));
    if (client.request.size() > max_request_bytes) {
        warn("a client sent more than " + std::to_string(max_request_bytes) +
             " bytes without ending its request; closed it");
        drop(client);
        return;
    }
    if (client.request.find("\r\n\r\n") != std::string::npos) respond(client);
}

void MetricsServer::respond(Client& client) {
    if (int rc = uv_read_stop(stream_of(&client.handle)); rc != 0) {
        warn(std::string("stopping a client's reads failed: ") + uv_strerror(rc));
    }
    auto line_end = client.request.find("\r\n");
    std::string line = client.request.substr(0, line_end);
    std::string status = "200 OK";
    std::string body;
    std::string type = "text/plain; version=0.0.4; charset=utf-8";
    if (line.rfind("GET ", 0) != 0) {
        status = "405 Method Not Allowed";
        body = "only GET is served\n";
        type = "text/plain";
    } else if (line.rfind("GET /metrics ", 0) != 0 && line.rfind("GET /metrics?", 0) != 0) {
        status = "404 Not Found";
        body = "metrics are at /metrics\n";
        type = "text/plain";
    } else {
        try {
            body = render_();
        } catch (const std::exception& e) {
            status = "500 Internal Server Error";
            body = std::string(e.what()) + "\n";
        } catch (...) {
            status = "500 Internal Server Error";
            body = "unknown error\n";
        }
    }
    client.response = "HTTP/1.1 " + status + "\r\nContent-Type: " + type +
                      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    uv_buf_t buf = uv_buf_init(client.response.data(), static_cast<unsigned>(client.response.size()));
    client.write.data = &client;
    int rc = uv_write(&client.write, stream_of(&client.handle), &buf, 1, [](uv_write_t* req, int write_status) {
        // A write cut off by drop() is called back (UV_ECANCELED) before the
        // handle's close callback frees the client.
        auto* c = static_cast<Client*>(req->data);
        if (c->server == nullptr) return;  // dropped (the server may be gone); its close callback frees it
        if (write_status < 0) c->server->warn(std::string("writing a response failed: ") + uv_strerror(write_status));
        c->server->drop(*c);
    });
    if (rc != 0) {
        warn(std::string("writing a response failed: ") + uv_strerror(rc));
        drop(client);
    }
}

void MetricsServer::drop(Client& client) {
    auto open = clients_.find(&client);
    if (open == clients_.end()) return;  // closing already
    Client* owned = open->second.release();
    clients_.erase(open);
    owned->server = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&owned->handle),
             [](uv_handle_t* handle) { delete static_cast<Client*>(handle->data); });
}

}  // namespace seesaw::detail
