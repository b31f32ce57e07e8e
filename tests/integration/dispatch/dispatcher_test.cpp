#include <atomic>
#include <set>

#include "dispatch_test_support.hpp"
#include "test_jobs.hpp"

namespace seesaw::test {
namespace {

using namespace std::chrono_literals;

class DispatcherTest : public DispatchTest {};

TEST_F(DispatcherTest, RunsAnEnqueuedJobAndRecordsTheSuccess) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 2}}});
    Signal done;
    std::atomic<int> runs{0};
    std::string seen;
    dispatcher.on<Echo>([&](const Echo& job, JobContext&) {
        seen = job.text;
        ++runs;
    });
    std::atomic<int> succeeded{0};
    auto sub = dispatcher.events().subscribe<JobSucceeded>([&](const JobSucceeded&) {
        ++succeeded;
        done.notify();
    });
    dispatcher.start();
    auto id = store_->enqueue(Echo{"hello"});
    ASSERT_TRUE(done.wait_for([&] { return succeeded.load() == 1; }));
    dispatcher.stop();
    EXPECT_EQ(runs.load(), 1);
    EXPECT_EQ(seen, "hello");
    auto job = store_->get_job(id);
    ASSERT_TRUE(job);
    EXPECT_EQ(job->status, JobStatus::succeeded);
}

TEST_F(DispatcherTest, RunsManyJobsEachExactlyOnce) {
    Dispatcher dispatcher(*store_, {.queues = {{"default", 4, 16}}});
    std::mutex mutex;
    std::multiset<std::int64_t> seen;
    Signal done;
    std::atomic<int> succeeded{0};
    dispatcher.on<Work>([&](const Work& job, JobContext&) {
        std::lock_guard lock(mutex);
        seen.insert(job.n);
    });
    auto sub = dispatcher.events().subscribe<JobSucceeded>([&](const JobSucceeded&) {
        ++succeeded;
        done.notify();
    });
    dispatcher.start();
    std::vector<NewJob> jobs;
    for (int i = 0; i < 5000; ++i) jobs.push_back(JobStore::make_new_job(Work{i}));
    store_->enqueue_batch(jobs);
    ASSERT_TRUE(done.wait_for([&] { return succeeded.load() == 5000; }));
    dispatcher.stop();
    EXPECT_EQ(seen.size(), 5000u);
    for (int i = 0; i < 5000; ++i) EXPECT_EQ(seen.count(i), 1u) << i;
    EXPECT_EQ(count("status = 'succeeded'"), 5000);
}

}  // namespace
}  // namespace seesaw::test
