#pragma once
// Helpers shared by the store and migration integration tests: typed sample
// jobs, DB-clock waits (no sleeps), and a LISTEN connection over libpq.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <poll.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "pg.hpp"
#include "store_sql.hpp"
#include "test_database.hpp"
#include "worker_protocol.hpp"

namespace seesaw::test {

struct SendEmail {
    std::string to;
    std::string subject;
};

}  // namespace seesaw::test

template <>
struct seesaw::JobTraits<seesaw::test::SendEmail> {
    static constexpr std::string_view name = "send_email";
    static void encode(const seesaw::test::SendEmail& job, seesaw::PayloadWriter& out) {
        out.field("to", job.to).field("subject", job.subject);
    }
    static seesaw::test::SendEmail decode(const seesaw::PayloadReader& in) {
        return {in.string("to"), in.string("subject")};
    }
};

namespace seesaw::test {

inline Timestamp client_now() { return std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now()); }

inline NewJob job_of(std::string type, EnqueueOptions options = {}, std::string payload = "{}") {
    return NewJob{std::move(type), std::move(payload), std::move(options)};
}

// A PostgreSQL array literal of ids: {id,id,...}.
inline std::string uuid_array(const std::vector<JobId>& ids) {
    std::string out = "{";
    for (const auto& id : ids) {
        if (out.size() > 1) out += ',';
        out += id.to_string();
    }
    return out + "}";
}

struct Notification {
    std::string channel;
    std::string payload;
};

// A connection that LISTENs, read with libpq directly.
class Listener {
public:
    explicit Listener(const std::string& url) : conn_(Connection::open(url)) {}

    void listen(const std::string& channel) { conn_.execute("LISTEN " + quote_identifier(channel)); }

    // Reads notifications until one arrives on `channel` with `payload`
    // (a marker sent after what the test waits for: notifications of one
    // session arrive in commit order). Returns what came before it.
    std::vector<Notification> until(const std::string& channel, const std::string& payload,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
        std::vector<Notification> seen;
        auto deadline = std::chrono::steady_clock::now() + timeout;
        PGconn* pg = conn_.native();
        while (true) {
            if (PQconsumeInput(pg) == 0) {
                ADD_FAILURE() << "listener connection failed: " << PQerrorMessage(pg);
                return seen;
            }
            while (PGnotify* n = PQnotifies(pg)) {
                Notification got{n->relname, n->extra};
                PQfreemem(n);
                if (got.channel == channel && got.payload == payload) return seen;
                seen.push_back(std::move(got));
            }
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                              std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                ADD_FAILURE() << "no notification '" << payload << "' on " << channel << " within the deadline";
                return seen;
            }
            pollfd fd{PQsocket(pg), POLLIN, 0};
            ::poll(&fd, 1, static_cast<int>(left.count()));
        }
    }

private:
    Connection conn_;
};

}  // namespace seesaw::test

namespace seesaw::test {

// A schema made by the test itself (beyond the fixture's), dropped at the end.
class ExtraSchema {
public:
    ExtraSchema(std::string url, std::string name) : url_(std::move(url)), name_(std::move(name)) {}
    ExtraSchema(const ExtraSchema&) = delete;
    ExtraSchema& operator=(const ExtraSchema&) = delete;
    ~ExtraSchema() {
        try {
            Connection::open(url_).execute("DROP SCHEMA IF EXISTS " + quote_identifier(name_) + " CASCADE");
        } catch (const std::exception& e) {
            ADD_FAILURE() << "dropping schema " << name_ << ": " << e.what();
        }
    }
    const std::string& name() const noexcept { return name_; }

private:
    std::string url_;
    std::string name_;
};

class StoreTest : public SchemaTest {
protected:
    // Waits until the database clock has passed the timestamp the query
    // returns (e.g. a lease's expiry), polling the database.
    void wait_until_db_passes(const std::string& timestamp_query, std::initializer_list<Param> params = {}) {
        bool passed = poll_until([&] {
            return sql("SELECT clock_timestamp() > (" + timestamp_query + ")", params).get(0, 0) == "t";
        });
        ASSERT_TRUE(passed) << "the database clock did not pass " << timestamp_query;
    }
    void wait_until_lease_expires(const JobId& id) {
        wait_until_db_passes("SELECT lease_expires_at FROM jobs WHERE id = $1::uuid", {id.to_string()});
    }
    void wait_until_due(const JobId& id) {
        wait_until_db_passes("SELECT run_at FROM jobs WHERE id = $1::uuid", {id.to_string()});
    }
    Job job(const JobId& id) {
        auto found = store_->get_job(id);
        if (!found) throw std::runtime_error("no job " + id.to_string());
        return *found;
    }
    // The counts by a real COUNT(*) GROUP BY status.
    QueueStats counted() {
        QueueStats out;
        auto rows = sql("SELECT status::text, count(*) FROM jobs GROUP BY status");
        for (std::size_t i = 0; i < rows.rows(); ++i) out[*parse_job_status(rows.get(i, 0))] = rows.get_int64(i, 1);
        return out;
    }
};

// Sends the worker protocol's statements as the dispatcher does: the
// store's own texts (store_->sql()), parameters built by worker_protocol.hpp.
class ProtocolTest : public StoreTest {
protected:
    const detail::StoreSql& statements() const { return store_->sql(); }
    pg::ResultPtr send(const std::string& statement, const std::vector<std::string>& params,
                       const std::vector<bool>& null_params = {}) {
        auto conn = connect();
        return pg::exec(conn.native(), statement, params, null_params);
    }
};

}  // namespace seesaw::test
