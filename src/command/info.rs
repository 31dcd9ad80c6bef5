//! `INFO [section ...]`: the server's state in Redis's `INFO` text format, so tools that read
//! Redis's INFO (and redis-cli's `--stat`) can read usld's. Sections: server, clients, memory,
//! persistence, stats, shards, keyspace. Counters come from every shard, gathered over the mesh.

use std::fmt::Write;

use bytes::Bytes;

use super::ArgReader;
use crate::protocol::Reply;
use crate::shard::Shard;
use crate::stats::ShardStats;

/// Section names, in the order they are printed.
const SECTIONS: [&str; 7] = [
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "shards",
    "keyspace",
];

/// A parsed `INFO`.
#[derive(Debug)]
pub struct Info {
    /// Lower-cased section names asked for; empty, `all`, `everything` or `default` mean all.
    pub sections: Vec<String>,
}

impl Info {
    /// Parses `INFO [section ...]`.
    pub fn parse(args: &mut ArgReader) -> Result<Info, Reply> {
        let mut sections = Vec::new();
        while args.remaining() > 0 {
            sections.push(args.string()?.to_ascii_lowercase());
        }
        Ok(Info { sections })
    }

    fn wants(&self, section: &str) -> bool {
        self.sections.is_empty()
            || self
                .sections
                .iter()
                .any(|s| s == section || s == "all" || s == "everything" || s == "default")
    }
}

/// Renders the sections asked for from every shard's counters (`all` is sorted by shard).
pub fn render(info: &Info, shard: &Shard, all: &[ShardStats]) -> Reply {
    let mut out = String::new();
    for section in SECTIONS.iter().filter(|s| info.wants(s)) {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = writeln!(out, "# {}\r", capitalized(section));
        let lines = match *section {
            "server" => server(shard),
            "clients" => clients(shard),
            "memory" => memory(),
            "persistence" => persistence(shard, all),
            "stats" => stats(all),
            "shards" => shards(all),
            _ => keyspace(all),
        };
        out.push_str(&lines);
    }
    Reply::Bulk(Bytes::from(out))
}

fn capitalized(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn server(shard: &Shard) -> String {
    let shared = &shard.shared;
    let config = &shared.config;
    let mut s = String::new();
    let _ = write!(
        s,
        "usld_version:{}\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\nos:{}\r\n\
         arch_bits:{}\r\nmultiplexing_api:io_uring\r\nprocess_id:{}\r\ntcp_port:{}\r\n\
         uptime_in_seconds:{}\r\nshards:{}\r\nexecutable:{}\r\nconfig_file:{}\r\n",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        usize::BITS,
        std::process::id(),
        config.tcp_addr.map_or(0, |a| a.port()),
        shared.started.elapsed().as_secs(),
        shard.count,
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        config
            .config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    s
}

fn clients(shard: &Shard) -> String {
    format!(
        "connected_clients:{}\r\nmaxclients:{}\r\n",
        shard.shared.connected_clients(),
        shard.shared.config.clients_max
    )
}

/// Resident memory from `/proc/self/statm`; usld has no allocator accounting, so RSS stands for
/// both `used_memory` and `used_memory_rss`.
fn memory() -> String {
    let page_bytes = 4096u64;
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * page_bytes);
    format!(
        "used_memory:{rss}\r\nused_memory_human:{:.2}M\r\nused_memory_rss:{rss}\r\n",
        rss as f64 / (1024.0 * 1024.0)
    )
}

/// Redis's persistence fields that apply, and usld's database counters summed over the shards.
fn persistence(shard: &Shard, all: &[ShardStats]) -> String {
    let config = &shard.shared.config;
    let mut s = String::from("loading:0\r\nasync_loading:0\r\n");
    let Some(db) = &config.db else {
        s.push_str("storage:memory\r\n");
        return s;
    };
    let each = || all.iter().filter_map(|s| s.persistence);
    let sum =
        |f: fn(&crate::persist::barrier::BarrierStats) -> u64| each().map(|p| f(&p)).sum::<u64>();
    let failing = each().any(|p| p.failing);
    let _ = write!(
        s,
        "storage:sqlite\r\ndb_path:{}\r\ndb_fsync:{}\r\ndb_commits:{}\r\ndb_records_committed:{}\r\n\
         db_bytes_committed:{}\r\ndb_rewrites:{}\r\ndb_commit_failures:{}\r\ndb_uncommitted_bytes:{}\r\n\
         db_last_write_status:{}\r\n",
        db.display(),
        if config.fsync { "always" } else { "no" },
        sum(|p| p.commits),
        sum(|p| p.records),
        sum(|p| p.bytes),
        sum(|p| p.rewrites),
        sum(|p| p.failures),
        sum(|p| p.uncommitted_bytes),
        if failing { "err" } else { "ok" },
    );
    s
}

fn stats(all: &[ShardStats]) -> String {
    let sum = |f: fn(&ShardStats) -> u64| all.iter().map(f).sum::<u64>();
    format!(
        "total_connections_received:{}\r\ntotal_commands_processed:{}\r\n\
         rejected_connections:{}\r\ncross_shard_batches:{}\r\n",
        sum(|s| s.connections_total),
        sum(|s| s.commands),
        sum(|s| s.connections_rejected),
        sum(|s| s.remote_batches),
    )
}

fn shards(all: &[ShardStats]) -> String {
    all.iter()
        .map(|s| {
            format!(
                "shard{}:documents={},expiring={},connections={},commands={}\r\n",
                s.shard, s.documents, s.expiring, s.connections, s.commands
            )
        })
        .collect()
}

/// Redis's keyspace line: `avg_ttl` is the mean time left, in ms, of the documents with a TTL
/// (0 when none has one), over all shards.
fn keyspace(all: &[ShardStats]) -> String {
    let keys: usize = all.iter().map(|s| s.documents).sum();
    let expires: usize = all.iter().map(|s| s.expiring).sum();
    if keys == 0 {
        return String::new();
    }
    let ms_left: u128 = all.iter().map(|s| s.ms_left).sum();
    let avg_ttl = ms_left.checked_div(expires as u128).unwrap_or(0);
    format!("db0:keys={keys},expires={expires},avg_ttl={avg_ttl}\r\n")
}
