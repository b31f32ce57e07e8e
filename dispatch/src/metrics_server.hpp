#pragma once
// A small HTTP/1.1 endpoint on the dispatcher's loop that serves
// GET /metrics in Prometheus' text format. One request per connection; the
// response closes it. Loop thread only (it is bound before the loop starts).

#include <uv.h>

#include <functional>
#include <string>
#include <unordered_set>

namespace seesaw::detail {

class MetricsServer {
public:
    MetricsServer(uv_loop_t* loop, std::function<std::string()> render);
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // "127.0.0.1:9464", "[::1]:9464", ":9464" (all interfaces), port 0 for
    // any free one. Returns the bound port; throws UsageError naming the
    // address when it is malformed or cannot be bound.
    int listen(const std::string& address);
    void close();

private:
    struct Client;
    static void on_connection(uv_stream_t* server, int status);
    void respond(Client* client);
    void drop(Client* client);

    uv_loop_t* loop_;
    std::function<std::string()> render_;
    uv_tcp_t server_{};
    bool open_ = false;
    std::unordered_set<Client*> clients_;
};

}  // namespace seesaw::detail
