//! The vendored glommio executor (vendor/glommio) under usld's shards: an executor whose
//! preemption flag is already raised when it goes to run its task queues must not park while a
//! queue is runnable. Before the fix it did, and a shard slept with its accept task runnable
//! until another shard's message woke it: a new client waited 25 s and more for its first reply
//! with `--shards 32` on two busy cores (vendor/README.md).

use std::sync::mpsc;
use std::time::Duration;

/// How long the executor thread may take for work that needs milliseconds when it runs: long
/// enough that only an executor parked for good, waiting for a wake-up that never comes,
/// misses it.
const HANG_LIMIT: Duration = Duration::from_secs(60);

/// With a preemption timer of one nanosecond, the flag is raised before the executor's first look
/// at its task queues, every time. Each `run` must still run the future it was given.
#[test]
fn an_executor_preempted_before_its_queues_run_does_not_park_with_work_left() {
    let (done, finished) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let executor = glommio::LocalExecutorBuilder::default()
            .preempt_timer(Duration::from_nanos(1))
            .make()
            .expect("a glommio executor starts");
        let mut ran = 0;
        for _ in 0..1_000 {
            ran += executor.run(async { 1 });
        }
        let _ = done.send(ran);
    });
    let ran = finished
        .recv_timeout(HANG_LIMIT)
        .expect("the executor parked with a runnable task and never woke");
    assert_eq!(ran, 1_000);
    worker.join().expect("the executor thread does not panic");
}
