//! Yjs itself (the JavaScript reference implementation, from npm) as a replica of a usld
//! `crdt-text` document: it catches up with SYNC, hands in offline edits with MERGE, and
//! converges with the server's own SPLICEs and with a second Yjs replica, over a real socket.
//! The script is `tests/js/yjs_replica.mjs`; `scripts/install-test-deps.sh` installs Node.js's
//! `yjs` package into `tests/js/node_modules`.

mod common;

use std::path::Path;
use std::process::Command;

use common::{require_tool, run_bounded, stdout_text, Server};

#[test]
fn a_javascript_yjs_doc_is_a_replica_of_a_crdt_text_document() {
    let node = require_tool("node");
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    assert!(
        js.join("node_modules/yjs").is_dir(),
        "the yjs package is not installed: run scripts/install-test-deps.sh (or `make test`)"
    );
    let server = Server::start(&["--shards", "2"]);
    let output = run_bounded(
        Command::new(node)
            .arg(js.join("yjs_replica.mjs"))
            .arg(server.port.to_string()),
        b"",
    );
    let stdout = stdout_text(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.trim_end(), "yjs replica: ok", "{stderr}");
}
