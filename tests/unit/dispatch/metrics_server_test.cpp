#include "metrics_server.hpp"

#include <gtest/gtest.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../log_capture.hpp"
#include "seesaw/core/error.hpp"
#include "uv_test_loop.hpp"

namespace seesaw::detail {
namespace {

// An HTTP client on the test's loop: connects, then writes its request and
// reads the response to its end, or resets the connection at once.
class Client {
public:
    enum class Then { read_response, reset };

    Client(uv_loop_t* loop, int port, std::string request, Then then, std::function<void()> finished = nullptr)
        : request_(std::move(request)), then_(then), finished_(std::move(finished)) {
        EXPECT_EQ(uv_tcp_init(loop, &handle_), 0);
        handle_.data = this;
        sockaddr_in address{};
        EXPECT_EQ(uv_ip4_addr("127.0.0.1", port, &address), 0);
        connect_.data = this;
        EXPECT_EQ(
            uv_tcp_connect(&connect_, &handle_, reinterpret_cast<const sockaddr*>(&address), &Client::on_connect), 0);
    }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    bool done() const noexcept { return done_; }
    const std::string& response() const noexcept { return response_; }
    std::string body() const {
        auto at = response_.find("\r\n\r\n");
        return at == std::string::npos ? std::string() : response_.substr(at + 4);
    }

private:
    static void on_connect(uv_connect_t* request, int status) {
        auto* self = static_cast<Client*>(request->data);
        if (status < 0) {
            ADD_FAILURE() << "connect: " << uv_strerror(status);
            self->finish();
            return;
        }
        if (self->then_ == Then::reset) {
            // RST instead of FIN: the server's read fails (ECONNRESET).
            EXPECT_EQ(uv_tcp_close_reset(&self->handle_, &Client::on_closed), 0);
            return;
        }
        uv_buf_t buf = uv_buf_init(self->request_.data(), static_cast<unsigned>(self->request_.size()));
        self->write_.data = self;
        EXPECT_EQ(uv_write(&self->write_, self->stream(), &buf, 1, &Client::on_written), 0);
    }

    static void on_written(uv_write_t* request, int status) {
        auto* self = static_cast<Client*>(request->data);
        EXPECT_EQ(status, 0) << uv_strerror(status);
        EXPECT_EQ(uv_read_start(
                      self->stream(),
                      [](uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
                          auto* c = static_cast<Client*>(handle->data);
                          *buf = uv_buf_init(c->buffer_, sizeof c->buffer_);
                      },
                      [](uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
                          auto* c = static_cast<Client*>(stream->data);
                          if (n > 0) c->response_.append(buf->base, static_cast<std::size_t>(n));
                          if (n < 0) c->finish();  // EOF: the server closes after its response
                      }),
                  0);
    }

    void finish() {
        if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&handle_))) return;
        uv_close(reinterpret_cast<uv_handle_t*>(&handle_), &Client::on_closed);
    }

    static void on_closed(uv_handle_t* handle) {
        auto* self = static_cast<Client*>(handle->data);
        self->done_ = true;
        if (self->finished_) self->finished_();
    }

    uv_stream_t* stream() noexcept { return reinterpret_cast<uv_stream_t*>(&handle_); }

    uv_tcp_t handle_{};
    uv_connect_t connect_{};
    uv_write_t write_{};
    std::string request_;
    Then then_;
    std::function<void()> finished_;
    std::string response_;
    char buffer_[4096];
    bool done_ = false;
};

// Calls `check` on the loop every millisecond until it returns true (then the
// timer closes itself). The loop's deadline bounds the wait.
class Until {
public:
    Until(uv_loop_t* loop, std::function<bool()> check) : check_(std::move(check)) {
        EXPECT_EQ(uv_timer_init(loop, &timer_), 0);
        timer_.data = this;
        EXPECT_EQ(uv_timer_start(&timer_, &Until::on_tick, 1, 1), 0);
    }

private:
    static void on_tick(uv_timer_t* timer) {
        auto* self = static_cast<Until*>(timer->data);
        if (!self->check_()) return;
        uv_close(reinterpret_cast<uv_handle_t*>(timer), nullptr);
    }
    uv_timer_t timer_{};
    std::function<bool()> check_;
};

const std::string metrics_text = "# TYPE seesaw_jobs_claimed_total counter\nseesaw_jobs_claimed_total 7\n";

TEST(MetricsServer, ServesMetricsAndLeavesNothingOpen) {
    test::TestLoop loop;
    int renders = 0;
    MetricsServer server(loop.get(), [&] {
        ++renders;
        return metrics_text;
    });
    const int port = server.listen("127.0.0.1:0");
    ASSERT_GT(port, 0);
    std::vector<std::unique_ptr<Client>> clients;
    int finished = 0;
    const std::vector<std::string> requests = {
        "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "GET /metrics?name[]=x HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
        "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    };
    for (const auto& request : requests) {
        clients.push_back(std::make_unique<Client>(loop.get(), port, request, Client::Then::read_response, [&] {
            if (++finished == static_cast<int>(requests.size())) server.close();
        }));
    }
    loop.run();
    ASSERT_FALSE(loop.timed_out());
    EXPECT_EQ(renders, 2);
    EXPECT_EQ(clients[0]->response().rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << clients[0]->response();
    EXPECT_NE(clients[0]->response().find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
    EXPECT_EQ(clients[0]->body(), metrics_text);
    EXPECT_EQ(clients[1]->body(), metrics_text);
    EXPECT_EQ(clients[2]->response().rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << clients[2]->response();
    EXPECT_EQ(clients[3]->response().rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << clients[3]->response();
    EXPECT_EQ(loop.close(), 0) << "a handle was left open";
}

TEST(MetricsServer, AClientWhoseReadFailsIsClosedAndLogged) {
    test::LogCapture log;
    test::TestLoop loop;
    MetricsServer server(loop.get(), [] { return metrics_text; });
    const int port = server.listen("127.0.0.1:0");
    // A reset instead of a request: the server's read fails.
    Client client(loop.get(), port, "", Client::Then::reset);
    Until logged(loop.get(), [&] {
        if (log.count(LogLevel::warn, "connection reset by peer") == 0) return false;
        server.close();
        return true;
    });
    loop.run();
    std::string lines;
    for (const auto& line : log.lines()) lines += "\n  " + line.text;
    ASSERT_FALSE(loop.timed_out()) << "the failed read was not logged; the log:" << lines;
    EXPECT_EQ(log.count(LogLevel::warn, "metrics"), 1u);
    EXPECT_EQ(loop.close(), 0) << "a handle was left open";
}

TEST(MetricsServer, ClosingItClosesTheClientsStillConnected) {
    test::TestLoop loop;
    std::optional<MetricsServer> server(std::in_place, loop.get(), [] { return metrics_text; });
    const int port = server->listen("127.0.0.1:0");
    // An incomplete request: the server waits for the rest until it closes.
    Client client(loop.get(), port, "GET /metrics HTTP/1.1\r\n", Client::Then::read_response);
    Until accepted(loop.get(), [&] {
        // Once the server holds the client, closing it must close the client.
        if (server->clients() == 0) return false;
        server->close();
        server.reset();  // the clients' memory is theirs: freed in their close callbacks
        return true;
    });
    loop.run();
    ASSERT_FALSE(loop.timed_out());
    EXPECT_TRUE(client.done());
    EXPECT_EQ(client.response(), "") << "closed without an answer";
    EXPECT_EQ(loop.close(), 0) << "a handle was left open";
}

TEST(MetricsServer, DestroyedWithoutCloseItLeavesNothingOpen) {
    test::TestLoop loop;
    {
        MetricsServer server(loop.get(), [] { return metrics_text; });
        server.listen("127.0.0.1:0");
    }
    EXPECT_EQ(loop.close(), 0) << "the listening handle was left open (or its memory went with the server)";
}

TEST(MetricsServer, AnAddressInUseThrowsAUsageErrorNamingIt) {
    test::TestLoop loop;
    MetricsServer first(loop.get(), [] { return metrics_text; });
    const int port = first.listen("127.0.0.1:0");
    MetricsServer second(loop.get(), [] { return metrics_text; });
    const std::string address = "127.0.0.1:" + std::to_string(port);
    try {
        second.listen(address);
        ADD_FAILURE() << "listening twice on " << address << " succeeded";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("'" + address + "'"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("address already in use"), std::string::npos) << e.what();
    }
    EXPECT_THROW(second.listen("localhost:9464"), UsageError) << "not an IP address";
    EXPECT_THROW(second.listen("127.0.0.1:65536"), UsageError);
    EXPECT_THROW(second.listen("9464"), UsageError);
    first.close();
    second.close();
    EXPECT_EQ(loop.close(), 0) << "a handle was left open";
}

}  // namespace
}  // namespace seesaw::detail
