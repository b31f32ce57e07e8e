#include "metrics_server.hpp"

#include <cstring>

#include "seesaw/core/error.hpp"
#include "seesaw/core/log.hpp"

namespace seesaw::detail {

struct MetricsServer::Client {
    uv_tcp_t handle{};
    uv_write_t write{};
    MetricsServer* server = nullptr;
    std::string request;
    std::string response;
    bool closing = false;
};

namespace {
constexpr std::size_t max_request_bytes = 8192;
}

MetricsServer::MetricsServer(uv_loop_t* loop, std::function<std::string()> render)
    : loop_(loop), render_(std::move(render)) {}

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

    uv_tcp_init(loop_, &server_);
    server_.data = this;
    open_ = true;
    rc = uv_tcp_bind(&server_, reinterpret_cast<const sockaddr*>(&storage), 0);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server_), 64, &MetricsServer::on_connection);
    if (rc != 0) {
        close();
        throw UsageError("metrics_listen '" + address + "': cannot listen: " + uv_strerror(rc));
    }
    sockaddr_storage bound{};
    int length = sizeof bound;
    uv_tcp_getsockname(&server_, reinterpret_cast<sockaddr*>(&bound), &length);
    return bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                       : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

void MetricsServer::close() {
    if (open_) {
        open_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(&server_), nullptr);
    }
    auto clients = clients_;
    for (auto* c : clients) drop(c);
}

void MetricsServer::on_connection(uv_stream_t* stream, int status) {
    auto* self = static_cast<MetricsServer*>(stream->data);
    if (status < 0) return;
    auto* client = new Client;
    client->server = self;
    uv_tcp_init(self->loop_, &client->handle);
    client->handle.data = client;
    self->clients_.insert(client);
    if (uv_accept(stream, reinterpret_cast<uv_stream_t*>(&client->handle)) != 0) {
        self->drop(client);
        return;
    }
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&client->handle),
        [](uv_handle_t*, std::size_t suggested, uv_buf_t* buf) {
            buf->base = new char[suggested];
            buf->len = suggested;
        },
        [](uv_stream_t* client_stream, ssize_t n, const uv_buf_t* buf) {
            auto* c = static_cast<Client*>(client_stream->data);
            if (n > 0) c->request.append(buf->base, static_cast<std::size_t>(n));
            delete[] buf->base;
            if (n < 0 || c->request.size() > max_request_bytes) {
                c->server->drop(c);
                return;
            }
            if (c->request.find("\r\n\r\n") != std::string::npos) c->server->respond(c);
        });
}

void MetricsServer::respond(Client* client) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&client->handle));
    auto line_end = client->request.find("\r\n");
    std::string line = client->request.substr(0, line_end);
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
        }
    }
    client->response = "HTTP/1.1 " + status + "\r\nContent-Type: " + type +
                       "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    uv_buf_t buf = uv_buf_init(client->response.data(), static_cast<unsigned>(client->response.size()));
    client->write.data = client;
    uv_write(&client->write, reinterpret_cast<uv_stream_t*>(&client->handle), &buf, 1, [](uv_write_t* req, int) {
        auto* c = static_cast<Client*>(req->data);
        c->server->drop(c);
    });
}

void MetricsServer::drop(Client* client) {
    if (client->closing) return;
    client->closing = true;
    clients_.erase(client);
    uv_close(reinterpret_cast<uv_handle_t*>(&client->handle),
             [](uv_handle_t* handle) { delete static_cast<Client*>(handle->data); });
}

}  // namespace seesaw::detail
