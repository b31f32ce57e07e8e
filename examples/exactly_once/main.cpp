// The README's exactly-once and fast-path examples: an order service that
// enqueues work for itself in the same transaction as its own write (handed
// to its dispatcher in memory once that commits), and a handler whose write
// commits with the job's success.
// Run: seesaw-exactly-once postgresql://user@host/db [SCHEMA]
// It prints what happened, one line each, in a fixed order.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>

#include <seesaw/seesaw.hpp>

using namespace std::chrono_literals;

struct ShipOrder {
    std::int64_t order_id = 0;
};

template <>
struct seesaw::JobTraits<ShipOrder> {
    static constexpr std::string_view name = "ship_order";
    static void encode(const ShipOrder& job, seesaw::PayloadWriter& out) { out.field("order_id", job.order_id); }
    static ShipOrder decode(const seesaw::PayloadReader& in) { return {in.int64("order_id")}; }
};

int main(int argc, char** argv) {
    const char* url = argc > 1 ? argv[1] : std::getenv("SEESAW_DATABASE_URL");
    if (url == nullptr) {
        std::cerr << "usage: seesaw-exactly-once DATABASE_URL [SCHEMA]\n";
        return 2;
    }
    const std::string schema = argc > 2 ? argv[2] : "seesaw";
    try {
        // Handlers in a transaction hold a pooled connection while they run:
        // the pool needs one per such worker, and some for everything else.
        seesaw::PgPool pool(url, {.max_connections = 8});
        seesaw::migrate(pool, schema);
        const std::string orders = seesaw::quote_identifier(schema) + ".example_orders";
        const std::string shipments = seesaw::quote_identifier(schema) + ".example_shipments";
        {
            auto conn = pool.acquire();
            conn->execute("CREATE TABLE IF NOT EXISTS " + orders + " (id bigint PRIMARY KEY, item text NOT NULL)");
            conn->execute("CREATE TABLE IF NOT EXISTS " + shipments +
                          " (order_id bigint PRIMARY KEY, job_id uuid NOT NULL)");
            conn->execute("TRUNCATE " + orders + ", " + shipments);
        }
        // [delete-succeeded]
        // The shipments are the record of what was done: a job's row is
        // deleted when its success is written (in the handler's transaction).
        seesaw::PgJobStore store(pool, {.schema = schema, .delete_succeeded = true});
        // [delete-succeeded end]
        seesaw::Dispatcher dispatcher(store, {.queues = {{"default", 2}}});

        std::mutex mutex;
        std::condition_variable done;
        int shipped = 0;
        // [transactional handler]
        // The shipment row and the job's success commit in one transaction:
        // a crash, a lost lease or a lost connection keeps both or neither,
        // so an order is never shipped twice, nor marked done unshipped.
        dispatcher.on<ShipOrder>([&](const ShipOrder& job, seesaw::JobContext& ctx, seesaw::Transaction& tx) {
            tx.connection().execute("INSERT INTO " + shipments + " VALUES ($1::int8, $2::uuid)",
                                    {std::to_string(job.order_id), ctx.id().to_string()});
            // Returning commits; throwing rolls the insert back and the
            // failure is written as usual (a retry, or the dead letter queue).
        });
        // [transactional handler end]
        auto succeeded = dispatcher.events().subscribe<seesaw::JobSucceeded>([&](const seesaw::JobSucceeded&) {
            std::lock_guard lock(mutex);
            ++shipped;
            done.notify_all();
        });
        std::atomic<std::uint64_t> in_memory{0};
        auto claimed = dispatcher.events().subscribe<seesaw::JobClaimed>([&](const seesaw::JobClaimed& e) {
            if (e.fast_path) ++in_memory;
        });
        // (Only for this example's fixed output: wait until the dispatcher
        // has connected and claimed once; before that it offers no worker
        // and an enqueue simply takes the normal path.)
        bool ready = false;
        auto first_claim = dispatcher.events().subscribe<seesaw::ClaimFinished>([&](const seesaw::ClaimFinished&) {
            std::lock_guard lock(mutex);
            ready = true;
            done.notify_all();
        });
        dispatcher.start();
        {
            std::unique_lock lock(mutex);
            done.wait_for(lock, 30s, [&] { return ready; });
        }

        // [fast path]
        // The service takes an order: its row and the job to ship it commit
        // together. With a free worker here, the job is inserted already
        // running, leased to this dispatcher, and handed to the worker in
        // memory once the transaction commits (no NOTIFY, no claim); if it
        // rolls back, nothing runs.
        auto conn = pool.acquire();
        {
            seesaw::Transaction tx(*conn);
            conn->execute("INSERT INTO " + orders + " VALUES (1, 'teapot')");
            store.enqueue_in(tx, ShipOrder{1});
            tx.commit();
        }
        {
            seesaw::Transaction tx(*conn);
            conn->execute("INSERT INTO " + orders + " VALUES (2, 'kettle')");
            store.enqueue_in(tx, ShipOrder{2});
            tx.rollback();  // order 2 was never taken: its job never runs
        }
        // [fast path end]
        {
            std::unique_lock lock(mutex);
            if (!done.wait_for(lock, 30s, [&] { return shipped == 1; })) throw std::runtime_error("order 1 was not shipped");
        }
        dispatcher.stop();
        auto rows = pool.acquire()->execute("SELECT o.id, o.item, s.order_id IS NOT NULL FROM " + orders +
                                            " o LEFT JOIN " + shipments + " s ON s.order_id = o.id ORDER BY o.id");
        for (std::size_t i = 0; i < rows.rows(); ++i) {
            std::cout << "order " << rows.get(i, 0) << " (" << rows.get(i, 1) << "): "
                      << (rows.get(i, 2) == "t" ? "shipped" : "not shipped") << "\n";
        }
        const auto others = pool.acquire()->execute("SELECT count(*) FROM " + shipments + " WHERE order_id <> 1");
        std::cout << "shipments of other orders: " << others.get(0, 0) << "\n";
        std::cout << "jobs handed over in memory: " << in_memory.load() << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "seesaw-exactly-once: " << e.what() << "\n";
        return 1;
    }
}
