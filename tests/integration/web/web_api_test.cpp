// The dashboard's JSON API against the real PostgreSQL: the server runs in
// the test process (port 0) and is asked over HTTP with cpp-httplib's client.
#include <httplib.h>
#include <libpq-fe.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <set>

#include "seesaw/core/log.hpp"
#include "tcp_proxy.hpp"
#include "web/api.hpp"
#include "web/dashboard.hpp"
#include "web/throughput.hpp"
#include "web_test_support.hpp"

namespace seesaw::test {
namespace {

rapidjson::Document parse(const std::string& body) {
    rapidjson::Document doc;
    doc.Parse(body.c_str(), body.size());
    EXPECT_FALSE(doc.HasParseError()) << "not JSON: " << body;
    return doc;
}

class WebApi : public WebSchemaTest {
protected:
    void TearDown() override {
        client_.reset();
        dashboard_.reset();
        WebSchemaTest::TearDown();
    }

    void serve(web::DashboardOptions options = {}, PgJobStore* store = nullptr) {
        if (options.listen == web::DashboardOptions{}.listen) options.listen = "127.0.0.1:0";
        dashboard_ = std::make_unique<web::Dashboard>(store ? *store : *store_, options);
        dashboard_->start();
        client_ = std::make_unique<httplib::Client>("127.0.0.1", dashboard_->port());
        client_->set_read_timeout(std::chrono::seconds(30));
        if (options.token) client_->set_bearer_token_auth(options.token->c_str());
        auto session = get("/api/session");
        ASSERT_EQ(session.status, 200) << session.body;
        csrf_ = parse(session.body)["csrf_token"].GetString();
    }

    httplib::Response get(const std::string& path, const httplib::Headers& headers = {}) {
        auto result = client_->Get(path.c_str(), headers);
        EXPECT_TRUE(result) << "GET " << path << ": " << httplib::to_string(result.error());
        return result ? result.value() : httplib::Response{};
    }

    httplib::Response post(const std::string& path, const std::string& body = "", bool with_csrf = true,
                           httplib::Headers headers = {}) {
        if (with_csrf) headers.emplace("X-CSRF-Token", csrf_);
        auto result = client_->Post(path.c_str(), headers, body, "application/json");
        EXPECT_TRUE(result) << "POST " << path << ": " << httplib::to_string(result.error());
        return result ? result.value() : httplib::Response{};
    }

    // GET /api/jobs?<query>: the ids of every page, following next_cursor.
    // Empty pages with a cursor (a window without a match) are counted in
    // empty_pages.
    std::vector<std::string> all_pages(const std::string& query, std::size_t* pages = nullptr,
                                       std::size_t* empty_pages = nullptr) {
        std::vector<std::string> ids;
        std::string cursor;
        std::size_t n = 0;
        while (true) {
            auto res = get("/api/jobs?" + query + (cursor.empty() ? "" : "&cursor=" + cursor));
            EXPECT_EQ(res.status, 200) << res.body;
            if (res.status != 200) break;
            auto doc = parse(res.body);
            for (const auto& job : doc["jobs"].GetArray()) ids.emplace_back(job["id"].GetString());
            ++n;
            // scanned: a number (the rows of the window this page covers,
            // at most job_list_window) or null (an index served the page).
            EXPECT_TRUE(doc.HasMember("scanned") && (doc["scanned"].IsNull() || doc["scanned"].IsInt64())) << res.body;
            if (doc["scanned"].IsInt64()) {
                EXPECT_GE(doc["scanned"].GetInt64(), static_cast<std::int64_t>(doc["jobs"].Size())) << res.body;
                EXPECT_LE(doc["scanned"].GetInt64(), static_cast<std::int64_t>(web::job_list_window)) << res.body;
            } else {
                EXPECT_FALSE(doc["jobs"].Empty() && !doc["next_cursor"].IsNull())
                    << "an empty page before the end comes only from a window: " << res.body;
            }
            if (empty_pages && doc["jobs"].Empty() && !doc["next_cursor"].IsNull()) ++*empty_pages;
            if (doc["next_cursor"].IsNull()) break;
            cursor = doc["next_cursor"].GetString();
        }
        if (pages) *pages = n;
        return ids;
    }

    std::vector<std::string> ids_where(const std::string& where, bool newest = true) {
        auto r = sql("SELECT id::text FROM jobs WHERE " + where + " ORDER BY id " + (newest ? "DESC" : "ASC"));
        std::vector<std::string> out;
        for (std::size_t i = 0; i < r.rows(); ++i) out.emplace_back(r.get(i, 0));
        return out;
    }

    void expect_bad_parameter(const std::string& query, const std::string& parameter) {
        auto res = get("/api/jobs?" + query);
        EXPECT_EQ(res.status, 400) << query << ": " << res.body;
        auto doc = parse(res.body);
        ASSERT_TRUE(doc.IsObject() && doc.HasMember("parameter")) << res.body;
        EXPECT_EQ(std::string(doc["parameter"].GetString()), parameter) << query;
        EXPECT_NE(std::string(doc["error"].GetString()).find(parameter), std::string::npos) << res.body;
    }

    std::unique_ptr<web::Dashboard> dashboard_;
    std::unique_ptr<httplib::Client> client_;
    std::string csrf_;
};

// --- overview ----------------------------------------------------------------------------

TEST_F(WebApi, QueuesReportCountsPausesAndAges) {
    enqueue(3, "send_email", {.queue = "emails"});
    dead_letters(2, "charge_card");
    succeeded(4, "resize_image", "images");
    failed(1, "sync", "sync");
    store_->pause_queue("images");
    store_->pause_queue("empty_but_paused");
    serve();

    auto res = get("/api/queues");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(res.get_header_value("Content-Type"), "application/json");
    auto doc = parse(res.body);
    std::map<std::string, const rapidjson::Value*> by_name;
    for (const auto& q : doc["queues"].GetArray()) by_name[q["name"].GetString()] = &q;
    ASSERT_EQ(by_name.size(), 5u) << res.body;
    const auto& emails = *by_name.at("emails");
    EXPECT_EQ(emails["counts"]["pending"].GetInt64(), 3);
    EXPECT_FALSE(emails["paused"].GetBool());
    EXPECT_GE(emails["oldest_pending_age_s"].GetDouble(), 0.0);
    EXPECT_EQ((*by_name.at("default"))["counts"]["dead_letter"].GetInt64(), 2);
    EXPECT_EQ((*by_name.at("images"))["counts"]["succeeded"].GetInt64(), 4);
    EXPECT_TRUE((*by_name.at("images"))["paused"].GetBool());
    EXPECT_TRUE((*by_name.at("images"))["paused_at"].IsString());
    EXPECT_EQ((*by_name.at("sync"))["counts"]["failed"].GetInt64(), 1);
    EXPECT_TRUE((*by_name.at("empty_but_paused"))["paused"].GetBool());
    const auto stats = store_->stats();
    const auto& total = doc["total"]["counts"];
    EXPECT_EQ(total["pending"].GetInt64(), stats.pending);
    EXPECT_EQ(total["dead_letter"].GetInt64(), stats.dead_letter);
    EXPECT_EQ(total["succeeded"].GetInt64(), stats.succeeded);
    EXPECT_EQ(total["failed"].GetInt64(), stats.failed);
    EXPECT_EQ(total["cancelled"].GetInt64(), stats.cancelled);
    EXPECT_TRUE(doc["throughput"]["samples"].IsArray());
}

TEST_F(WebApi, ThroughputCountsJobsFinishedSinceTheLastSample) {
    web::ThroughputSampler sampler(*store_, std::chrono::seconds(2), 100);
    sampler.sample();  // opens the window
    succeeded(7, "a", "fast");
    dead_letters(2, "b", "slow");
    // The window ends a second behind the database's clock: ask until the
    // finished jobs fall inside it.
    std::uint64_t fast = 0, slow = 0, all = 0;
    EXPECT_TRUE(poll_until([&] {
        sampler.sample();
        fast = slow = all = 0;
        for (const auto& s : sampler.snapshot()) {
            all += s.finished;
            if (auto it = s.by_queue.find("fast"); it != s.by_queue.end()) fast += it->second;
            if (auto it = s.by_queue.find("slow"); it != s.by_queue.end()) slow += it->second;
        }
        return all == 9;
    }));
    EXPECT_EQ(fast, 7u);
    EXPECT_EQ(slow, 2u);
    for (const auto& s : sampler.snapshot()) EXPECT_TRUE(s.ok);
}

TEST_F(WebApi, QueuesShowALiveFinishedRate) {
    serve({.sample_interval = std::chrono::milliseconds(100)});
    succeeded(5, "a", "fast");
    EXPECT_TRUE(poll_until([&] {
        auto doc = parse(get("/api/queues").body);
        for (const auto& q : doc["queues"].GetArray())
            if (std::string_view(q["name"].GetString()) == "fast" && q["finished_per_s"].IsNumber() &&
                q["finished_per_s"].GetDouble() > 0)
                return doc["total"]["finished_per_s"].GetDouble() > 0 && doc["throughput"]["samples"].Size() > 0;
        return false;
    }));
}

// --- the job list ------------------------------------------------------------------------

TEST_F(WebApi, JobsFilterByStateTypeAndQueueNewestOrOldestFirst) {
    enqueue(3, "send_email", {.queue = "emails"});
    enqueue(2, "resize_image", {.queue = "images"});
    dead_letters(2, "charge_card");
    succeeded(2, "send_email", "emails");
    failed(1, "sync", "sync");
    store_->cancel(enqueue(1, "send_email", {.queue = "images"}));
    serve();

    struct Case {
        std::string query;
        std::string where;
    };
    const std::vector<Case> cases = {
        {"", "true"},
        {"state=pending", "status = 'pending'"},
        {"state=dead_letter", "status = 'dead_letter'"},
        {"state=succeeded", "status = 'succeeded'"},
        {"state=failed", "status = 'failed'"},
        {"state=cancelled", "status = 'cancelled'"},
        {"state=running", "status = 'running'"},
        {"state=failed&type=sync", "status = 'failed' AND job_type = 'sync'"},
        {"state=dead_letter&queue=default", "status = 'dead_letter' AND queue = 'default'"},
        {"state=succeeded&queue=emails", "status = 'succeeded' AND queue = 'emails'"},
        {"type=send_email", "job_type = 'send_email'"},
        {"queue=images", "queue = 'images'"},
        {"state=pending&type=send_email", "status = 'pending' AND job_type = 'send_email'"},
        {"state=pending&queue=images", "status = 'pending' AND queue = 'images'"},
        {"type=send_email&queue=images", "job_type = 'send_email' AND queue = 'images'"},
        {"state=cancelled&type=send_email&queue=images",
         "status = 'cancelled' AND job_type = 'send_email' AND queue = 'images'"},
        {"type=nothing_like_it", "false"},
        {"state=&type=&queue=", "true"},  // empty form fields filter nothing
    };
    for (const auto& c : cases) {
        EXPECT_EQ(all_pages(c.query + "&limit=2"), ids_where(c.where)) << c.query;
        EXPECT_EQ(all_pages(c.query + "&order=oldest&limit=3"), ids_where(c.where, false)) << c.query;
        EXPECT_EQ(all_pages(c.query + "&order=newest"), ids_where(c.where)) << c.query;
    }

    auto doc = parse(get("/api/jobs?state=dead_letter&limit=1").body);
    const auto& job = doc["jobs"][0];
    EXPECT_EQ(std::string(job["type"].GetString()), "charge_card");
    EXPECT_EQ(std::string(job["status"].GetString()), "dead_letter");
    EXPECT_EQ(std::string(job["error_message"].GetString()), "boom (attempt 1)");
    EXPECT_EQ(job["attempts_allowed"].GetInt(), 1);
    EXPECT_FALSE(job.HasMember("payload")) << "the list leaves payloads to GET /api/jobs/{id}";
}

TEST_F(WebApi, TenThousandJobsPageWithoutGapsOrRepeats) {
    std::vector<NewJob> jobs;
    for (int i = 0; i < 10'000; ++i)
        jobs.push_back(NewJob{i % 2 ? "odd" : "even", "{}", {.queue = i % 3 ? "q" : "r"}});
    store_->enqueue_batch(jobs);
    store_->cancel_all({.job_type = "odd"});
    serve();

    std::size_t pages = 0;
    auto newest = all_pages("limit=500", &pages);
    EXPECT_EQ(pages, 20u);
    EXPECT_EQ(newest.size(), 10'000u);
    EXPECT_EQ(std::set<std::string>(newest.begin(), newest.end()).size(), 10'000u) << "no repeats";
    EXPECT_EQ(newest, ids_where("true")) << "every job, newest first, no gaps";
    EXPECT_EQ(all_pages("order=oldest&limit=333"), ids_where("true", false));
    EXPECT_EQ(all_pages("state=cancelled&limit=499"), ids_where("status = 'cancelled'"));
    EXPECT_EQ(all_pages("type=even&queue=r&order=oldest&limit=100"), ids_where("job_type = 'even' AND queue = 'r'", false));

    // Jobs inserted while a client pages (newest first) do not shift its
    // pages: a keyset cursor, not an offset.
    std::vector<std::string> seen;
    std::string cursor;
    for (int page = 0;; ++page) {
        auto doc = parse(get("/api/jobs?type=even&limit=500" + (cursor.empty() ? "" : "&cursor=" + cursor)).body);
        for (const auto& job : doc["jobs"].GetArray()) seen.emplace_back(job["id"].GetString());
        if (doc["next_cursor"].IsNull()) break;
        cursor = doc["next_cursor"].GetString();
        enqueue(50, "even");
    }
    EXPECT_EQ(seen.size(), 5'000u);
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 5'000u);
}

TEST_F(WebApi, ASparseFilterPagesThroughWindowsWithoutAnIndex) {
    // 25,000 jobs, one of which is of type rare (pending): no index serves
    // type=rare, so each page reads at most job_list_window rows of the
    // primary key; pages without a match are empty but carry a cursor.
    sql("INSERT INTO jobs (job_type, queue, payload) SELECT CASE WHEN i = 12345 THEN 'rare' ELSE 'common' END,"
        " 'default', '{}' FROM generate_series(1, 25000) AS i ORDER BY i");
    ASSERT_EQ(count("job_type = 'rare'"), 1);
    serve();

    for (bool newest : {true, false}) {
        std::size_t pages = 0, empty = 0;
        const std::string order = newest ? "order=newest" : "order=oldest";
        EXPECT_EQ(all_pages("type=rare&" + order, &pages, &empty), ids_where("job_type = 'rare'", newest)) << order;
        EXPECT_EQ(pages, 3u) << order << ": windows of 10,000, 10,000 and 5,000 rows";
        EXPECT_EQ(empty, 1u) << order << ": the window without a match (the last one, empty too, ends the list)";
        EXPECT_EQ(all_pages("state=pending&queue=default&limit=500&" + order),
                  ids_where("status = 'pending' AND queue = 'default'", newest))
            << order;
    }

    // The first window (newest first): no match, its 10,000 rows, a cursor
    // after the last of them.
    auto first = parse(get("/api/jobs?type=rare").body);
    EXPECT_EQ(first["jobs"].Size(), 0u);
    EXPECT_EQ(first["scanned"].GetInt64(), 10'000);
    ASSERT_TRUE(first["next_cursor"].IsString());
    const std::string ten_thousandth(sql("SELECT id::text FROM jobs ORDER BY id DESC OFFSET 9999 LIMIT 1").get(0, 0));
    EXPECT_EQ(web::decode_cursor(first["next_cursor"].GetString()), JobId::parse(ten_thousandth));
    auto second = parse(get("/api/jobs?type=rare&cursor=" + std::string(first["next_cursor"].GetString())).body);
    ASSERT_EQ(second["jobs"].Size(), 1u);
    EXPECT_EQ(second["scanned"].GetInt64(), 10'000);
    auto last = parse(get("/api/jobs?type=rare&cursor=" + std::string(second["next_cursor"].GetString())).body);
    EXPECT_EQ(last["jobs"].Size(), 0u);
    EXPECT_EQ(last["scanned"].GetInt64(), 5'000);
    EXPECT_TRUE(last["next_cursor"].IsNull()) << "the window ended before 10,000 rows: the end";

    // A full page says how far it read: the page's last row.
    auto full = parse(get("/api/jobs?limit=7").body);
    EXPECT_EQ(full["jobs"].Size(), 7u);
    EXPECT_EQ(full["scanned"].GetInt64(), 7);
    // A state with an index: no window.
    EXPECT_TRUE(parse(get("/api/jobs?state=dead_letter").body)["scanned"].IsNull());
}

TEST_F(WebApi, MalformedFiltersAreRefusedNamingTheParameter) {
    serve();
    expect_bad_parameter("state=runing", "state");
    expect_bad_parameter("type=" + std::string(256, 'x'), "type");
    expect_bad_parameter("queue=" + std::string(129, 'q'), "queue");
    expect_bad_parameter("queue=%FF%FE", "queue");
    expect_bad_parameter("order=sideways", "order");
    expect_bad_parameter("cursor=garbage", "cursor");
    expect_bad_parameter("cursor=" + web::encode_cursor(JobId::generate()).substr(1) + "A", "cursor");
    expect_bad_parameter("cursor=AAGiO_QQqnBUgrl-WYXAW3E", "cursor");  // a version this server never wrote
    expect_bad_parameter("limit=0", "limit");
    expect_bad_parameter("limit=501", "limit");
    expect_bad_parameter("limit=-1", "limit");
    expect_bad_parameter("limit=ten", "limit");
    expect_bad_parameter("limit=10&limit=20", "limit");
    expect_bad_parameter("staus=pending", "staus");
}

TEST_F(WebApi, EveryPageIsBoundedByAPartialIndexOrTheWindow) {
    // Rows made by SQL: many, quickly. Mostly succeeded, as a busy queue's table is.
    sql("INSERT INTO jobs (job_type, queue, payload, status, worker_id)"
        " SELECT 'type_' || (i % 20), 'queue_' || (i % 10), '{}',"
        " (CASE WHEN i % 100 = 0 THEN 'dead_letter' WHEN i % 100 = 1 THEN 'cancelled' WHEN i % 100 = 2 THEN 'failed'"
        " WHEN i % 50 = 0 THEN 'pending' ELSE 'succeeded' END)::job_status,"
        " 'w' FROM generate_series(1, 100000) AS i");
    sql("ANALYZE jobs");
    // The engine's own rows are not in the partial indexes.
    EXPECT_EQ(sql("SELECT count(*) FROM jobs WHERE status NOT IN ('pending', 'running', 'succeeded')").get_int64(0, 0),
              3'000);
    for (const char* state_name : {"", "dead_letter", "cancelled", "failed", "pending", "succeeded"}) {
        for (const char* type_name : {"", "type_3", "type_no_such"}) {
            for (const char* queue_name : {"", "queue_7"}) {
                for (bool newest : {true, false}) {
                    const std::string state = state_name, type = type_name, queue = queue_name;
                    web::JobListQuery query;
                    if (!state.empty()) query.state = parse_job_status(state);
                    if (!type.empty()) query.job_type = type;
                    if (!queue.empty()) query.queue = queue;
                    query.order = newest ? web::ListOrder::newest : web::ListOrder::oldest;
                    query.after = newest ? std::optional(JobId::parse("ffffffff-ffff-7fff-bfff-ffffffffffff"))
                                         : std::nullopt;
                    const auto statement = web::job_list_statement(schema_, query);
                    std::vector<Param> params(statement.params.begin(), statement.params.end());
                    auto conn = connect();
                    std::string plan;
                    auto rows = conn.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + statement.sql,
                                             std::span<const Param>(params));
                    for (std::size_t i = 0; i < rows.rows(); ++i) plan += std::string(rows.get(i, 0)) + "\n";
                    const std::string what = "state=" + state + " type=" + type + " queue=" + queue +
                                             (newest ? " newest" : " oldest");
                    EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << what << "\n" << plan;
                    const bool browse = state == "dead_letter" || state == "cancelled" || state == "failed";
                    EXPECT_EQ(statement.windowed, !browse) << what;
                    if (browse) {
                        // Partial indexes only, never the primary key: the
                        // state alone reads idx_jobs_browse_status_id in id
                        // order and stops after a page. With a type or a queue
                        // the planner may combine partial indexes that hold the
                        // state (a bitmap) and sort the few rows that match.
                        EXPECT_EQ(plan.find("jobs_pkey"), std::string::npos) << what << "\n" << plan;
                        if (type.empty() && queue.empty()) {
                            EXPECT_NE(plan.find(newest ? "Index Scan Backward using idx_jobs_browse_status_id"
                                                       : "Index Scan using idx_jobs_browse_status_id"),
                                      std::string::npos)
                                << what << "\n" << plan;
                            EXPECT_EQ(plan.find("Sort"), std::string::npos) << what << "\n" << plan;
                        } else {
                            EXPECT_NE(plan.find("idx_jobs_"), std::string::npos) << what << "\n" << plan;
                        }
                    } else {
                        // The primary key, in id order, no sort, and at most
                        // job_list_window rows read from it, whatever matches.
                        EXPECT_NE(plan.find("Index Scan"), std::string::npos) << what << "\n" << plan;
                        EXPECT_NE(plan.find("jobs_pkey"), std::string::npos) << what << "\n" << plan;
                        EXPECT_EQ(plan.find("Sort"), std::string::npos) << what << "\n" << plan;
                        std::size_t scans = 0;
                        for (std::size_t at = plan.find("Index Scan"); at != std::string::npos;
                             at = plan.find("Index Scan", at + 1)) {
                            const auto line = plan.substr(at, plan.find('\n', at) - at);
                            const auto rows_at = line.find("actual rows=");
                            ASSERT_NE(rows_at, std::string::npos) << line;
                            EXPECT_LE(std::stoll(line.substr(rows_at + 12)), static_cast<long long>(web::job_list_window))
                                << what << "\n" << plan;
                            ++scans;
                        }
                        EXPECT_EQ(scans, 1u) << what << "\n" << plan;
                    }
                }
            }
        }
    }
}

// --- one job -----------------------------------------------------------------------------

TEST_F(WebApi, AJobHasEveryColumnItsErrorsAndItsTimeline) {
    const auto id = dead_letters(1, "charge_card", "default", "card declined", 2,
                                 R"({"account":"acct-1","note":"<script>alert(1)</script>"})")[0];
    serve();
    auto res = get("/api/jobs/" + id.to_string());
    ASSERT_EQ(res.status, 200) << res.body;
    auto doc = parse(res.body);
    const auto& job = doc["job"];
    for (const char* field : {"id", "type", "queue", "status", "attempt", "uncounted_attempts", "snoozes", "max_retries",
                              "priority", "version", "run_at", "created_at", "updated_at", "worker_id",
                              "lease_expires_at", "error_kind", "error_message", "unique_key", "unique_bucket",
                              "unique_states", "errors", "payload"})
        EXPECT_TRUE(job.HasMember(field)) << field;
    EXPECT_EQ(std::string(job["status"].GetString()), "dead_letter");
    EXPECT_EQ(std::string(job["payload"]["note"].GetString()), "<script>alert(1)</script>");
    ASSERT_EQ(job["errors"].Size(), 2u);
    EXPECT_EQ(std::string(job["errors"][1]["message"].GetString()), "card declined (attempt 2)");
    std::vector<std::string> events;
    for (const auto& e : doc["timeline"].GetArray()) events.emplace_back(e["event"].GetString());
    EXPECT_EQ(events, (std::vector<std::string>{"created", "attempt_failed", "attempt_failed", "dead_letter"}));
}

TEST_F(WebApi, AnUnknownJobIs404AndAMalformedIdIs400) {
    serve();
    auto res = get("/api/jobs/01a22566-0000-7000-8000-000000000000");
    EXPECT_EQ(res.status, 404);
    EXPECT_EQ(std::string(parse(res.body)["error"].GetString()), "no job with id 01a22566-0000-7000-8000-000000000000");
    res = get("/api/jobs/not-a-uuid");
    EXPECT_EQ(res.status, 400);
    EXPECT_EQ(std::string(parse(res.body)["parameter"].GetString()), "id");
    res = get("/api/nothing/here");
    EXPECT_EQ(res.status, 404);
    EXPECT_TRUE(parse(res.body).HasMember("error"));
    for (const char* action : {"retry", "cancel", "delete"}) {
        res = post("/api/jobs/01a22566-0000-7000-8000-000000000000/" + std::string(action));
        EXPECT_EQ(res.status, 404) << action << ": " << res.body;
    }
}

// --- actions -----------------------------------------------------------------------------

TEST_F(WebApi, RetryingADeadLetterOrAFailedJobRunsItNow) {
    const auto dead = dead_letters(1, "charge_card")[0];
    const auto waiting = failed(1, "sync", "sync")[0];
    const auto pending = enqueue(1, "later")[0];
    serve();

    auto res = post("/api/jobs/" + dead.to_string() + "/retry");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(std::string(parse(res.body)["previous_status"].GetString()), "dead_letter");
    EXPECT_EQ(status_of(dead), "pending");
    EXPECT_EQ(sql("SELECT attempt FROM jobs WHERE id = $1::uuid", {dead.to_string()}).get_int64(0, 0), 1);

    EXPECT_EQ(sql("SELECT run_at > now() FROM jobs WHERE id = $1::uuid", {waiting.to_string()}).get(0, 0), "t");
    const auto attempt = sql("SELECT attempt FROM jobs WHERE id = $1::uuid", {waiting.to_string()}).get_int64(0, 0);
    res = post("/api/jobs/" + waiting.to_string() + "/retry");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(sql("SELECT run_at <= now() FROM jobs WHERE id = $1::uuid", {waiting.to_string()}).get(0, 0), "t");
    EXPECT_EQ(sql("SELECT attempt FROM jobs WHERE id = $1::uuid", {waiting.to_string()}).get_int64(0, 0), attempt)
        << "its retry, brought forward: the same attempt count";
    EXPECT_EQ(status_of(waiting), "failed");
    EXPECT_EQ(claim(1, "sync").size(), 1u) << "due now, so a worker claims it";

    res = post("/api/jobs/" + pending.to_string() + "/retry");
    EXPECT_EQ(res.status, 409) << res.body;
    EXPECT_NE(std::string(parse(res.body)["error"].GetString()).find("is pending"), std::string::npos);
}

TEST_F(WebApi, CancelAndDelete) {
    const auto pending = enqueue(1, "a")[0];
    const auto done = succeeded(1, "b", "done")[0];
    const auto running_id = enqueue(1, "c", {.queue = "busy"})[0];
    ASSERT_EQ(claim(1, "busy").size(), 1u);
    serve();

    auto res = post("/api/jobs/" + pending.to_string() + "/cancel");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_TRUE(parse(res.body)["cancelled"].GetBool());
    EXPECT_EQ(status_of(pending), "cancelled");
    res = post("/api/jobs/" + done.to_string() + "/cancel");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_FALSE(parse(res.body)["cancelled"].GetBool());
    EXPECT_EQ(status_of(done), "succeeded");

    res = post("/api/jobs/" + running_id.to_string() + "/delete");
    EXPECT_EQ(res.status, 409) << res.body;
    EXPECT_NE(std::string(parse(res.body)["error"].GetString()).find("cancel it first"), std::string::npos);
    EXPECT_EQ(status_of(running_id), "running");
    res = post("/api/jobs/" + done.to_string() + "/delete");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(std::string(parse(res.body)["previous_status"].GetString()), "succeeded");
    EXPECT_EQ(status_of(done), "gone");
    EXPECT_EQ(store_->stats().succeeded, 0) << "the counts follow the delete";
}

TEST_F(WebApi, RetryAllDeadLettersOfAType) {
    dead_letters(3, "charge_card");
    dead_letters(2, "send_email", "emails");
    serve();
    auto res = post("/api/dead-letters/retry", R"({"type":"charge_card"})");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(parse(res.body)["retried"].GetInt(), 3);
    EXPECT_EQ(count("status = 'dead_letter'"), 2);
    EXPECT_EQ(post("/api/dead-letters/retry", "{}").status, 400);
    EXPECT_EQ(post("/api/dead-letters/retry", "not json").status, 400);
    EXPECT_EQ(post("/api/dead-letters/retry", R"({"type":""})").status, 400);
}

TEST_F(WebApi, PauseAndResumeAQueue) {
    enqueue(1, "a", {.queue = "media/thumbs"});
    serve();
    auto res = post("/api/queues/media%2Fthumbs/pause");
    ASSERT_EQ(res.status, 200) << res.body;
    auto doc = parse(res.body);
    EXPECT_TRUE(doc["changed"].GetBool());
    EXPECT_EQ(std::string(doc["queue"].GetString()), "media/thumbs");
    auto queues = store_->queues();
    ASSERT_EQ(queues.size(), 1u);
    EXPECT_TRUE(queues[0].paused);
    EXPECT_FALSE(parse(post("/api/queues/media%2Fthumbs/pause").body)["changed"].GetBool());
    EXPECT_TRUE(parse(post("/api/queues/media%2Fthumbs/resume").body)["changed"].GetBool());
    EXPECT_FALSE(store_->queues()[0].paused);
    res = post("/api/queues/" + std::string(129, 'q') + "/pause");
    EXPECT_EQ(res.status, 400);
    EXPECT_EQ(std::string(parse(res.body)["parameter"].GetString()), "queue");
}

// --- security ----------------------------------------------------------------------------

TEST_F(WebApi, APostWithoutTheCsrfTokenIsRefused) {
    const auto dead = dead_letters(1, "charge_card")[0];
    serve();
    auto res = post("/api/jobs/" + dead.to_string() + "/retry", "", false);
    EXPECT_EQ(res.status, 403);
    EXPECT_NE(std::string(parse(res.body)["error"].GetString()).find("X-CSRF-Token"), std::string::npos);
    res = post("/api/jobs/" + dead.to_string() + "/retry", "", false, {{"X-CSRF-Token", "0123"}});
    EXPECT_EQ(res.status, 403);
    res = post("/api/queues/default/pause", "", true, {{"Origin", "http://evil.example"}});
    EXPECT_EQ(res.status, 403) << "another site's page, even with the token";
    EXPECT_EQ(status_of(dead), "dead_letter");
    EXPECT_FALSE(store_->queues()[0].paused);
}

TEST_F(WebApi, ReadOnlyRefusesEveryAction) {
    const auto dead = dead_letters(1, "charge_card")[0];
    serve({.read_only = true});
    EXPECT_TRUE(parse(get("/api/session").body)["read_only"].GetBool());
    EXPECT_EQ(get("/api/queues").status, 200);
    EXPECT_EQ(get("/api/jobs/" + dead.to_string()).status, 200);
    for (const std::string& path : {"/api/jobs/" + dead.to_string() + "/retry", "/api/jobs/" + dead.to_string() + "/cancel",
                                    "/api/jobs/" + dead.to_string() + "/delete", std::string("/api/queues/default/pause"),
                                    std::string("/api/dead-letters/retry")}) {
        auto res = post(path, R"({"type":"charge_card"})");
        EXPECT_EQ(res.status, 403) << path;
        EXPECT_NE(std::string(parse(res.body)["error"].GetString()).find("read-only"), std::string::npos);
    }
    EXPECT_EQ(status_of(dead), "dead_letter");
    EXPECT_FALSE(store_->queues()[0].paused);
}

TEST_F(WebApi, ANonLoopbackAddressNeedsAToken) {
    EXPECT_THROW(web::Dashboard(*store_, {.listen = "0.0.0.0:0"}), UsageError);
    EXPECT_THROW(web::Dashboard(*store_, {.listen = "0.0.0.0:0", .token = "short"}), UsageError);
    EXPECT_THROW(web::Dashboard(*store_, {.listen = "localhost"}), UsageError);
    EXPECT_THROW(web::Dashboard(*store_, {.listen = "::1:80"}), UsageError);
}

TEST_F(WebApi, WithATokenEveryRequestMustPresentIt) {
    const std::string token = "a-long-enough-secret-0123456789";
    enqueue(1, "a");
    serve({.listen = "0.0.0.0:0", .token = token});

    httplib::Client anonymous("127.0.0.1", dashboard_->port());
    auto res = anonymous.Get("/api/queues");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
    EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer realm=\"seesaw\"");
    res = anonymous.Get("/api/jobs", {{"Authorization", "Bearer wrong-token-wrong-token-wrong"}});
    EXPECT_EQ(res->status, 401);
    res = anonymous.Post("/api/queues/default/pause", {{"X-CSRF-Token", csrf_}}, "", "application/json");
    EXPECT_EQ(res->status, 401);
    EXPECT_FALSE(store_->queues()[0].paused);
    res = anonymous.Get("/");
    EXPECT_EQ(res->status, 303);
    EXPECT_EQ(res->get_header_value("Location"), "/login");
    EXPECT_EQ(anonymous.Get("/login")->status, 200);

    EXPECT_EQ(get("/api/queues").status, 200) << "the bearer token";

    // The login form: a wrong token, then the right one sets the cookie.
    res = anonymous.Post("/login", httplib::Params{{"token", "not-it"}});
    EXPECT_EQ(res->status, 401);
    res = anonymous.Post("/login", httplib::Params{{"token", token}});
    ASSERT_EQ(res->status, 303);
    const std::string cookie = res->get_header_value("Set-Cookie");
    EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
    EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos) << cookie;
    EXPECT_EQ(cookie.find(token), std::string::npos) << "the cookie is a session, not the token";
    const std::string session = cookie.substr(0, cookie.find(';'));
    res = anonymous.Get("/api/queues", {{"Cookie", session}});
    EXPECT_EQ(res->status, 200);
    res = anonymous.Post("/api/queues/default/pause", {{"Cookie", session}}, "", "application/json");
    EXPECT_EQ(res->status, 403) << "logged in, but no CSRF token";
    res = anonymous.Post("/api/queues/default/pause", {{"Cookie", session}, {"X-CSRF-Token", csrf_}}, "",
                         "application/json");
    EXPECT_EQ(res->status, 200);
    EXPECT_TRUE(store_->queues()[0].paused);
}

TEST_F(WebApi, WithoutATokenOnlyALoopbackHostHeaderIsServed) {
    serve();
    EXPECT_EQ(get("/api/queues", {{"Host", "evil.example:" + std::to_string(dashboard_->port())}}).status, 403)
        << "a DNS-rebinding page";
    EXPECT_EQ(get("/api/queues", {{"Host", "localhost:" + std::to_string(dashboard_->port())}}).status, 200);
}

TEST_F(WebApi, PagesAreServedWithAStrictContentSecurityPolicy) {
    serve();
    auto res = get("/");
    ASSERT_EQ(res.status, 200);
    EXPECT_NE(res.body.find("<script src=\"/app.js\""), std::string::npos);
    EXPECT_NE(res.get_header_value("Content-Security-Policy").find("script-src 'self'"), std::string::npos);
    EXPECT_EQ(get("/app.js").status, 200);
    EXPECT_EQ(get("/app.css").status, 200);
    EXPECT_EQ(get("/login").status, 303) << "no login without a token";
}

// --- a database that goes away -----------------------------------------------------------

TEST_F(WebApi, ADatabaseThatGoesAwayIs503AndTheServerRecovers) {
    // The dashboard reaches the database through a proxy the test takes
    // down and brings back; its URL carries a password, which no answer or
    // log line may show.
    PQconninfoOption* parsed = PQconninfoParse(url_.c_str(), nullptr);
    ASSERT_NE(parsed, nullptr);
    std::map<std::string, std::string> info;
    for (auto* o = parsed; o->keyword != nullptr; ++o)
        if (o->val != nullptr) info[o->keyword] = o->val;
    PQconninfoFree(parsed);
    TcpProxy proxy(info.count("hostaddr") ? info["hostaddr"] : info.at("host"), std::stoi(info.at("port")));
    const std::string password = "pw-that-must-not-show-9f3c";
    const std::string conninfo = "postgresql://" + info.at("user") + ":" + password + "@127.0.0.1:" +
                                 std::to_string(proxy.port()) + "/" + info.at("dbname");
    PgPool pool(conninfo, PgPoolOptions{.max_connections = 4, .acquire_timeout = std::chrono::seconds(5)});
    PgJobStore store(pool, PgJobStoreOptions{.schema = schema_});
    enqueue(2, "a");

    std::mutex log_mutex;
    std::string logged;
    set_logger([&](LogLevel, std::string_view line) {
        std::lock_guard lock(log_mutex);
        logged.append(line).append("\n");
    });
    serve({.sample_interval = std::chrono::milliseconds(100)}, &store);
    EXPECT_EQ(get("/api/queues").status, 200);

    proxy.down();
    auto res = get("/api/queues");
    EXPECT_EQ(res.status, 503) << res.body;
    EXPECT_NE(std::string(parse(res.body)["error"].GetString()).find("the database cannot be reached"), std::string::npos)
        << res.body;
    EXPECT_EQ(res.body.find(password), std::string::npos) << res.body;
    EXPECT_EQ(get("/api/jobs").status, 503);
    EXPECT_EQ(get("/").status, 200) << "the page is still served, to say so";

    proxy.up();
    EXPECT_TRUE(poll_until([&] { return get("/api/queues").status == 200; }));
    EXPECT_EQ(parse(get("/api/jobs").body)["jobs"].Size(), 2u);
    dashboard_.reset();
    set_logger(nullptr);
    std::lock_guard lock(log_mutex);
    EXPECT_NE(logged.find("cannot be reached"), std::string::npos) << logged;
    EXPECT_NE(logged.find("reachable again"), std::string::npos) << logged;
    EXPECT_EQ(logged.find(password), std::string::npos) << logged;
}

// --- pieces ------------------------------------------------------------------------------

TEST(WebParts, CursorsRoundTripAndRejectAnythingElse) {
    for (int i = 0; i < 100; ++i) {
        const auto id = JobId::generate();
        const auto cursor = web::encode_cursor(id);
        EXPECT_EQ(cursor.size(), 23u);
        EXPECT_EQ(web::decode_cursor(cursor), id);
    }
    EXPECT_FALSE(web::decode_cursor(""));
    EXPECT_FALSE(web::decode_cursor("01a22566-0000-7000-8000-000000000000"));
    EXPECT_FALSE(web::decode_cursor(std::string(23, '!')));
    EXPECT_FALSE(web::decode_cursor("AQGiO_QQqnBUgrl-WYXAW3F")) << "non-zero padding bits";
}

TEST(WebParts, ListenAddresses) {
    EXPECT_EQ(web::parse_listen("127.0.0.1:8080").host, "127.0.0.1");
    EXPECT_EQ(web::parse_listen("127.0.0.1:8080").port, 8080);
    EXPECT_EQ(web::parse_listen("[::1]:0").host, "::1");
    EXPECT_EQ(web::parse_listen("0.0.0.0:65535").port, 65535);
    for (const char* bad : {"", "8080", ":8080", "host:", "host:65536", "host:-1", "::1:80", "[::1]", "[::1]80"})
        EXPECT_THROW(web::parse_listen(bad), UsageError) << bad;
    EXPECT_TRUE(web::is_loopback("127.0.0.1"));
    EXPECT_TRUE(web::is_loopback("127.1.2.3"));
    EXPECT_TRUE(web::is_loopback("::1"));
    EXPECT_TRUE(web::is_loopback("localhost"));
    for (const char* not_loopback : {"0.0.0.0", "10.0.0.1", "127.0.0", "127.0.0.256", "127.example.com", "::", ""})
        EXPECT_FALSE(web::is_loopback(not_loopback)) << not_loopback;
}

}  // namespace
}  // namespace seesaw::test
