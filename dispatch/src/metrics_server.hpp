#pragma once
// A small HTTP/1.1 endpoint on the dispatcher's loop that serves
// GET /metrics in Prometheus' text format. One request per connection; the
// response closes it. Loop thread only (it is bound before the loop starts).
//
// Every handle frees its own memory in its close callback (the listening
// handle through UvHandle, a client with the Client that holds it), so the
// server may be destroyed as soon as close() returns. A client whose accept,
// read or write fails is closed, and the failure logged.

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "uv_handle.hpp"

namespace seesaw::detail {

class MetricsServer {
public:
    MetricsServer(uv_loop_t* loop, std::function<std::string()> render);
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;
    ~MetricsServer();

    // "127.0.0.1:9464", "[::1]:9464", ":9464" (all interfaces), port 0 for
    // any free one. Returns the bound port; throws UsageError naming the
    // address when it is malformed or cannot be bound.
    int listen(const std::string& address);
    // Stops listening and closes every client.
    void close();
    // Clients connected and not yet closed.
    std::size_t clients() const noexcept { return clients_.size(); }

private:
    struct Client;
    static void on_connection(uv_stream_t* server, int status);
    void accept();
    void on_read(Client& client, ssize_t n);
    void respond(Client& client);
    void drop(Client& client);
    void warn(const std::string& what) const;

    uv_loop_t* loop_;
    std::function<std::string()> render_;
    std::string address_;
    UvHandle<uv_tcp_t> server_;
    // Open clients; drop() hands a client to its close callback, which frees it.
    std::unordered_map<Client*, std::unique_ptr<Client>> clients_;
};

}  // namespace seesaw::detail
