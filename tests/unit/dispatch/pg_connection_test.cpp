// PgConnection without a database: what it does before it is connected, how
// it connects and reconnects, and its handles. What it does with a server's
// answers, and with the statements a lost connection leaves in doubt, needs a
// PostgreSQL: that is for integration tests to prove.
#include "pg_connection.hpp"

#include <gtest/gtest.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../log_capture.hpp"
#include "uv_test_loop.hpp"

namespace seesaw::detail {
namespace {

// A TCP port on 127.0.0.1 that refuses connections: bound once, then freed.
int refused_port() {
    uv_loop_t loop;
    EXPECT_EQ(uv_loop_init(&loop), 0);
    uv_tcp_t tcp;
    EXPECT_EQ(uv_tcp_init(&loop, &tcp), 0);
    sockaddr_in address{};
    EXPECT_EQ(uv_ip4_addr("127.0.0.1", 0, &address), 0);
    EXPECT_EQ(uv_tcp_bind(&tcp, reinterpret_cast<const sockaddr*>(&address), 0), 0);
    sockaddr_storage bound{};
    int length = sizeof bound;
    EXPECT_EQ(uv_tcp_getsockname(&tcp, reinterpret_cast<sockaddr*>(&bound), &length), 0);
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop), 0);
    return ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

// A server that takes TCP connections and never says a word: a connection
// to it stays in the middle of connecting (its socket watched).
class SilentServer {
public:
    explicit SilentServer(uv_loop_t* loop, std::function<void()> connected = nullptr)
        : connected_(std::move(connected)) {
        EXPECT_EQ(uv_tcp_init(loop, &tcp_), 0);
        tcp_.data = this;
        sockaddr_in address{};
        EXPECT_EQ(uv_ip4_addr("127.0.0.1", 0, &address), 0);
        EXPECT_EQ(uv_tcp_bind(&tcp_, reinterpret_cast<const sockaddr*>(&address), 0), 0);
        // Never accepted: the first connection stays with libuv until close().
        EXPECT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(&tcp_), 8,
                            [](uv_stream_t* stream, int status) {
                                auto* self = static_cast<SilentServer*>(stream->data);
                                EXPECT_EQ(status, 0);
                                if (self->connected_) self->connected_();
                            }),
                  0);
        sockaddr_storage bound{};
        int length = sizeof bound;
        EXPECT_EQ(uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&bound), &length), 0);
        port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    }
    int port() const noexcept { return port_; }
    void close() { uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), nullptr); }

private:
    std::function<void()> connected_;
    uv_tcp_t tcp_{};
    int port_ = 0;
};

std::string conninfo(int port) {
    return "postgresql://seesaw:s3cret-pw@127.0.0.1:" + std::to_string(port) + "/seesaw?connect_timeout=5";
}

struct Outcome {
    bool called = false;
    bool in_send = false;  // called before send() returned
    std::optional<FailureKind> kind;
    std::string message;
};

Statement statement(const std::string& sql, Outcome& outcome, const bool& sending) {
    Statement s;
    s.sql = &sql;
    s.params = {"1"};
    s.done = [&outcome, &sending](const PGresult* result, const StatementFailure* failure) {
        EXPECT_EQ(result, nullptr);
        ASSERT_NE(failure, nullptr);
        outcome.called = true;
        outcome.in_send = sending;
        outcome.kind = failure->kind;
        outcome.message = failure->message;
    };
    return s;
}

TEST(PgConnection, ASendBeforeItIsConnectedFailsNotSentFromInsideSend) {
    test::TestLoop loop;
    const std::string sql = "SELECT $1::int";
    PgConnection connection(loop.get(), "claim", conninfo(refused_port()), {});
    bool sending = true;
    Outcome never_opened;
    connection.send(statement(sql, never_opened, sending));
    connection.open();
    Outcome connecting;
    connection.send(statement(sql, connecting, sending));
    sending = false;

    for (const auto* outcome : {&never_opened, &connecting}) {
        ASSERT_TRUE(outcome->called);
        EXPECT_TRUE(outcome->in_send);
        EXPECT_EQ(outcome->kind, FailureKind::not_sent) << "nothing happened: safe to send again";
        EXPECT_EQ(outcome->message, "claim connection is not connected");
    }
    bool closed = false;
    connection.close([&] { closed = true; });
    loop.run();
    EXPECT_TRUE(closed);
    EXPECT_EQ(loop.close(), 0) << "a handle was left open";
}

TEST(PgConnection, ALostConnectionIsRetriedAndReportedWithoutThePassword) {
    test::LogCapture log;
    test::TestLoop loop;
    std::vector<std::string> lost;
    std::optional<PgConnection> connection;
    bool closed = false;
    PgConnection::Callbacks callbacks;
    callbacks.connected = [] { ADD_FAILURE() << "nothing listens there"; };
    callbacks.lost = [&](const std::string& reason) {
        lost.push_back(reason);
        if (lost.size() == 3) connection->close([&] { closed = true; });  // after two retries
    };
    connection.emplace(loop.get(), "complete", conninfo(refused_port()), std::move(callbacks));
    connection->open();
    loop.run();
    ASSERT_FALSE(loop.timed_out());
    EXPECT_TRUE(closed);
    ASSERT_EQ(lost.size(), 3u);
    for (const auto& reason : lost) {
        EXPECT_NE(reason.find("refused"), std::string::npos) << reason;
        EXPECT_EQ(reason.find("s3cret-pw"), std::string::npos) << reason;
    }
    EXPECT_GE(log.count(LogLevel::warn, "dispatcher complete connection lost"), 1u);
    for (const auto& line : log.lines()) EXPECT_EQ(line.text.find("s3cret-pw"), std::string::npos) << line.text;
    EXPECT_EQ(connection->reconnects(), 0u) << "it never connected, so it never came back";
    connection.reset();
    EXPECT_EQ(loop.close(), 0) << "a handle was left open";
}

TEST(PgConnection, AHostThatRefusesIsSkippedForTheNext) {
    test::TestLoop loop;
    std::optional<PgConnection> connection;
    bool reached_second = false;
    SilentServer second(loop.get(), [&] {
        reached_second = true;
        connection->close(nullptr);
        second.close();
    });
    PgConnection::Callbacks callbacks;
    callbacks.lost = [&](const std::string& reason) {
        ADD_FAILURE() << "lost at the first host: " << reason;
        connection->close(nullptr);
    };
    const std::string hosts = "postgresql://seesaw@127.0.0.1:" + std::to_string(refused_port()) + ",127.0.0.1:" +
                              std::to_string(second.port()) + "/seesaw";
    connection.emplace(loop.get(), "claim", hosts, std::move(callbacks));
    connection->open();
    loop.run();
    EXPECT_TRUE(reached_second) << "libpq was not left to try the second host";
    connection.reset();
    EXPECT_EQ(loop.close(), 0) << "a handle was left open";
}

TEST(PgConnection, ClosedWhileConnectingItClosesItsSocketsHandle) {
    test::TestLoop loop;
    SilentServer server(loop.get());
    PgConnection::Callbacks callbacks;
    callbacks.connected = [] { ADD_FAILURE() << "the server never answers"; };
    callbacks.lost = [](const std::string& reason) { ADD_FAILURE() << "lost: " << reason; };
    PgConnection connection(loop.get(), "listen", conninfo(server.port()), std::move(callbacks));
    connection.open();  // watches the socket while libpq waits for the server
    bool closed = false;
    connection.close([&] {
        closed = true;
        server.close();
    });
    loop.run();
    EXPECT_TRUE(closed);
    EXPECT_EQ(loop.close(), 0) << "a handle was left open";
}

TEST(PgConnection, MayBeDestroyedRightAfterCloseAndClosedStillRuns) {
    test::TestLoop loop;
    SilentServer server(loop.get());
    bool closed = false;
    {
        PgConnection connection(loop.get(), "claim", conninfo(server.port()), {});
        connection.open();
        connection.close([&] {
            closed = true;
            server.close();
        });
    }  // before libuv called back: the handles' memory is their own
    loop.run();
    EXPECT_TRUE(closed);
    EXPECT_EQ(loop.close(), 0) << "a handle was left open";
}

TEST(PgConnection, DestroyedWithoutCloseItLogsAndLeavesNothingOpen) {
    test::LogCapture log;
    test::TestLoop loop;
    SilentServer server(loop.get());
    {
        PgConnection idle(loop.get(), "listen", conninfo(server.port()), {});
        PgConnection connecting(loop.get(), "claim", conninfo(server.port()), {});
        connecting.open();
    }
    EXPECT_EQ(log.count(LogLevel::error, "dispatcher listen connection destroyed without close()"), 1u);
    EXPECT_EQ(log.count(LogLevel::error, "dispatcher claim connection destroyed without close()"), 1u);
    server.close();
    EXPECT_EQ(loop.close(), 0) << "its retry timer or its socket's handle was left open";
}

}  // namespace
}  // namespace seesaw::detail
