// A user's program built against an installed seesaw: migrates its own
// schema, enqueues a typed job, reads the stats, and drops the schema.
//   consumer <database url> <schema>
#include <seesaw/seesaw.hpp>

#include <cstdio>
#include <exception>
#include <string>

// The public headers keep libpq, libuv and concurrentqueue to themselves.
#ifdef LIBPQ_FE_H
#error "<seesaw/seesaw.hpp> includes <libpq-fe.h>"
#endif
#ifdef UV_H
#error "<seesaw/seesaw.hpp> includes <uv.h>"
#endif
#ifdef MOODYCAMEL_CONSTEXPR_IF
#error "<seesaw/seesaw.hpp> includes concurrentqueue"
#endif

struct Greet {
    std::string name;
};

template <>
struct seesaw::JobTraits<Greet> {
    static constexpr std::string_view name = "greet";
    static void encode(const Greet& job, seesaw::PayloadWriter& out) { out.field("name", job.name); }
    static Greet decode(const seesaw::PayloadReader& in) { return {in.string("name")}; }
};

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: consumer <database url> <schema>\n");
        return 2;
    }
    const std::string schema = argv[2];
    try {
        seesaw::PgPool pool(argv[1]);
        seesaw::migrate(pool, schema);
        seesaw::PgJobStore store(pool, {.schema = schema});
        auto id = store.enqueue(Greet{"consumer"}, {.queue = "consumer"});
        auto stats = store.stats_by_queue();
        const bool ok = stats["consumer"].pending == 1 && store.get_job(id).has_value();
        std::printf("enqueued %s; pending in queue 'consumer': %lld\n", id.to_string().c_str(),
                    static_cast<long long>(stats["consumer"].pending));
#ifdef SEESAW_CONSUMER_MIGRATIONS_DIR
        std::printf("migrations installed in %s\n", SEESAW_CONSUMER_MIGRATIONS_DIR);
#endif
        auto conn = pool.acquire();
        conn->execute("DROP SCHEMA " + seesaw::quote_identifier(schema) + " CASCADE");
        return ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "consumer: %s\n", e.what());
        return 1;
    }
}
