//! Where pinned shards run: on the CPUs the process was allowed (`taskset`, systemd's
//! `CPUAffinity=`, a container's cpuset), never on one it was kept off.

mod common;

use common::{ok, Server};

/// The CPUs this test process may run on, from `/proc/self/status` (`Cpus_allowed_list`, such
/// as `0-3,6`).
fn allowed_cpus(status: &str) -> Vec<usize> {
    let list = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .expect("Cpus_allowed_list in the status")
        .trim();
    list.split(',')
        .flat_map(|range| {
            let (first, last) = range.split_once('-').unwrap_or((range, range));
            let first: usize = first.parse().expect("a CPU number");
            let last: usize = last.parse().expect("a CPU number");
            first..=last
        })
        .collect()
}

/// The CPUs each shard thread of process `pid` may run on: the threads named `usld-shard-N`,
/// each shard's event loop and the helper thread glommio starts beside it.
fn shard_thread_cpus(pid: u32) -> Vec<(String, Vec<usize>)> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the server's threads");
    tasks
        .map(|task| {
            let dir = task.expect("a thread").path();
            let name = std::fs::read_to_string(dir.join("comm")).expect("comm");
            let status = std::fs::read_to_string(dir.join("status")).expect("status");
            (name.trim().to_owned(), allowed_cpus(&status))
        })
        .filter(|(name, _)| name.starts_with("usld-shard-"))
        .collect()
}

/// Started on one CPU that is not the first, usld runs one shard (one per allowed CPU), pinned
/// to that CPU; and two shards asked for share it, rather than one going to CPU 0.
#[test]
fn pinned_shards_stay_on_the_cpus_the_process_was_given() {
    let own = std::fs::read_to_string("/proc/self/status").expect("own status");
    let Some(&cpu) = allowed_cpus(&own).iter().filter(|&&cpu| cpu > 0).max() else {
        eprintln!("skipped: this test process may run on CPU 0 only");
        return;
    };
    for (extra, shards) in [(&[][..], 1), (&["--shards", "2"][..], 2)] {
        let server = Server::start_on_cpus(&cpu.to_string(), extra);
        let info = server.connect().cmd(&["INFO", "server"]).text();
        assert!(
            info.contains(&format!("shards:{shards}\r\n")),
            "{extra:?}: {info}"
        );
        let threads = shard_thread_cpus(server.pid());
        assert!(threads.len() >= shards, "{threads:?}");
        for (name, cpus) in &threads {
            assert_eq!(cpus, &[cpu], "{extra:?}: thread {name}");
        }
        assert_eq!(server.connect().cmd(&["SET", "doc:1", "n", "1"]), ok());
    }
}
