//! `crdt-text` over a real socket: SET, SPLICE, DEL and GET on text fields, pipelined SPLICEs
//! (which the server applies in batches) on `--shards 2`, replica sync with a Yjs replica (the
//! engine's `TextDoc`, a yrs document) in binary and base64 form, and the automerge-paper editing
//! trace replayed through SPLICE and through MERGE.

mod common;

use std::io::Read;

use common::{base64, bulk, encode, int, ok, unbase64, Resp, Server};
use ussl_shards::owner_shard;
use ussl_shards::text::trace::Trace;
use ussl_shards::text::{TextDoc, TextLimits};

/// A three-argument multibulk request whose last argument is binary.
fn binary_request(command: &str, id: &str, data: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "*3\r\n${}\r\n{command}\r\n${}\r\n{id}\r\n${}\r\n",
        command.len(),
        id.len(),
        data.len()
    )
    .into_bytes();
    request.extend(data);
    request.extend(b"\r\n");
    request
}

fn load_trace(name: &str) -> Trace {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("shards/tests/data")
        .join(name);
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).expect("trace file"))
        .read_to_end(&mut json)
        .expect("gzip");
    Trace::from_json(&json).expect("trace")
}

#[test]
fn text_fields_take_set_splice_and_del() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    assert_eq!(
        client.cmd(&["CREATE", "notes", "STRATEGY", "crdt-text"]),
        ok()
    );
    assert_eq!(
        client.inline(r#"SET notes content "Meeting agenda:""#),
        ok()
    );
    assert_eq!(
        client.cmd(&[
            "SPLICE",
            "notes",
            "content",
            "15",
            "0",
            "\n1. Review Q4 results"
        ]),
        int(36)
    );
    assert_eq!(
        client.cmd(&["GET", "notes"]),
        bulk(r#"{"content": "Meeting agenda:\n1. Review Q4 results"}"#)
    );
    // Positions are Unicode code points: the emoji is one.
    assert_eq!(client.cmd(&["SET", "notes", "title", "\"h🙂llo\""]), ok());
    assert_eq!(client.inline(r#"SPLICE notes title 1 1 "e""#), int(5));
    assert_eq!(client.inline("SPLICE notes title 5 0 big world"), int(14));
    assert_eq!(
        client.cmd(&["GET", "notes", "PATH", "title"]),
        bulk(r#""hellobig world""#)
    );
    let past_end = client.cmd(&["SPLICE", "notes", "title", "99", "0", "x"]);
    assert!(past_end.is_error("ERR"), "{past_end:?}");
    assert_eq!(client.cmd(&["DEL", "notes", "PATH", "title"]), int(1));
    assert_eq!(client.cmd(&["DEL", "notes", "PATH", "title"]), int(0));
    for refused in [
        &["PUSH", "notes", "content", "x"][..],
        &["INC", "notes", "content", "1"],
        &["SET", "notes", "content", "5"],
        &["SET", "notes", "a.b", "\"x\""],
    ] {
        let reply = client.cmd(refused);
        assert!(reply.is_error("WRONGTYPE"), "{refused:?}: {reply:?}");
    }
    assert_eq!(client.cmd(&["SET", "plain", "x", "1"]), ok());
    let reply = client.cmd(&["SPLICE", "plain", "x", "0", "0", "y"]);
    assert!(reply.is_error("WRONGTYPE"), "{reply:?}");
    // SPLICE on a missing document makes it crdt-text.
    assert_eq!(
        client.cmd(&["SPLICE", "fresh", "body", "0", "0", "hi"]),
        int(2)
    );
    assert_eq!(client.cmd(&["GET", "fresh"]), bulk(r#"{"body": "hi"}"#));
}

/// Two ids, one owned by each of two shards.
fn ids_on_both_shards() -> (String, String) {
    let on = |shard| {
        (0..)
            .map(|i| format!("text:{i}"))
            .find(|id| owner_shard(id.as_bytes(), 2) == shard)
            .expect("some id lands on the shard")
    };
    (on(0), on(1))
}

#[test]
fn pipelined_splices_on_both_shards_apply_in_order() {
    let server = Server::start(&["--shards", "2"]);
    let (a, b) = ids_on_both_shards();
    for _ in 0..4 {
        // Each connection lands on some shard: for one of the ids its SPLICEs are local, for
        // the other remote, whichever shard it is.
        let mut client = server.connect();
        client.cmd(&["DEL", &a]);
        client.cmd(&["DEL", &b]);
        let mut pipeline = Vec::new();
        let mut expected = Vec::new();
        for (i, word) in ["one ", "two ", "three "].iter().enumerate() {
            for id in [&a, &b] {
                pipeline.extend(encode(&["SPLICE", id, "t", "0", "0", word]));
                expected.push(int([4, 8, 14][i]));
            }
            pipeline.extend(encode(&["GET", &a, "PATH", "t"]));
            expected.push(bulk(&format!(
                "\"{}\"",
                ["one ", "two one ", "three two one "][i]
            )));
        }
        pipeline.extend(encode(&["SPLICE", &b, "t", "0", "99", "x"]));
        expected.push(Resp::Error(String::new()));
        pipeline.extend(encode(&["SPLICE", &b, "t", "0", "6", ""]));
        expected.push(int(8));
        client.send(&pipeline);
        for want in expected {
            let got = client.read();
            match want {
                Resp::Error(_) => assert!(got.is_error("ERR"), "{got:?}"),
                want => assert_eq!(got, want),
            }
        }
        assert_eq!(client.cmd(&["GET", &b, "PATH", "t"]), bulk(r#""two one ""#));
    }
}

/// The two parts of a SYNC reply.
fn sync_parts(reply: Resp) -> (Vec<u8>, Vec<u8>) {
    match reply {
        Resp::Array(Some(parts)) => match &parts[..] {
            [Resp::Bulk(Some(update)), Resp::Bulk(Some(vector))] => {
                (update.clone(), vector.clone())
            }
            other => panic!("SYNC answered {other:?}"),
        },
        other => panic!("SYNC answered {other:?}"),
    }
}

#[test]
fn a_yjs_replica_syncs_in_binary_and_in_base64() {
    let server = Server::start(&["--shards", "2"]);
    let mut client = server.connect();
    assert_eq!(
        client.cmd(&["CREATE", "doc", "STRATEGY", "crdt-text"]),
        ok()
    );
    assert_eq!(client.cmd(&["SET", "doc", "body", "\"server\""]), ok());

    let mut replica = TextDoc::new(4242, TextLimits::default()).expect("replica");
    let (update, _) = sync_parts(client.cmd(&["SYNC", "doc"]));
    replica.merge(&update).expect("server update merges");
    assert_eq!(replica.field("body").as_deref(), Some("server"));

    // Offline edits on both sides, then exchange: binary on multibulk requests.
    let edit = replica.splice("body", 0, 0, "replica ").expect("splice");
    assert_eq!(
        client.cmd(&["SPLICE", "doc", "body", "6", "0", "!"]),
        int(7)
    );
    client.send(&binary_request("MERGE", "doc", &edit));
    assert_eq!(client.read(), int(1));
    client.send(&binary_request("SYNC", "doc", &replica.state_vector()));
    let (missing, _) = sync_parts(client.read());
    replica.merge(&missing).expect("merges");
    let on_server = client.cmd(&["GET", "doc", "PATH", "body"]).json();
    assert_eq!(replica.field("body").as_deref(), on_server.as_str());
    assert_eq!(on_server, "replica server!");

    // The same over inline lines, base64 both ways; merging twice changes nothing.
    let edit = replica.splice("body", 0, 0, ">> ").expect("splice");
    let line = format!("MERGE doc {}", base64(&edit));
    assert_eq!(client.inline(&line), int(1));
    assert_eq!(client.inline(&line), int(0));
    let (update, vector) =
        sync_parts(client.inline(&format!("SYNC doc {}", base64(&replica.state_vector()))));
    replica
        .merge(&unbase64(std::str::from_utf8(&update).expect("text")))
        .expect("merges");
    assert!(!unbase64(std::str::from_utf8(&vector).expect("text")).is_empty());
    assert_eq!(
        client.cmd(&["GET", "doc", "PATH", "body"]).json(),
        ">> replica server!"
    );

    // Hostile input is refused and harms nothing.
    for bad in [
        &b"\x05\xff\xff\xff\xff\x0f"[..],
        b"\x01\x80\x80\x80\x80\x80",
    ] {
        client.send(&binary_request("MERGE", "doc", bad));
        let reply = client.read();
        assert!(reply.is_error("ERR"), "{reply:?}");
    }
    let reply = client.inline("SYNC doc not-base64!");
    assert!(reply.is_error("ERR"), "{reply:?}");
    assert_eq!(
        client.cmd(&["GET", "doc", "PATH", "body"]).json(),
        ">> replica server!"
    );
    // A Yjs update to a missing document makes it crdt-text.
    let mut fresh = TextDoc::new(77, TextLimits::default()).expect("replica");
    let update = fresh.replace("t", "from a replica").expect("replace");
    assert_eq!(
        client.inline(&format!("MERGE new {}", base64(&update))),
        int(1)
    );
    assert_eq!(
        client.cmd(&["GET", "new"]),
        bulk(r#"{"t": "from a replica"}"#)
    );
}

#[test]
fn the_automerge_paper_trace_replays_through_splice_and_through_merge() {
    let trace = load_trace("automerge-paper.json.gz");
    let server = Server::start(&["--shards", "2"]);
    let mut client = server.connect();
    assert_eq!(
        client.cmd(&["CREATE", "paper", "STRATEGY", "crdt-text"]),
        ok()
    );
    let mut pipeline = Vec::new();
    let mut count = 0;
    for patch in trace.patches() {
        let (position, delete) = (patch.position.to_string(), patch.delete.to_string());
        pipeline.extend(encode(&[
            "SPLICE",
            "paper",
            "content",
            &position,
            &delete,
            &patch.insert,
        ]));
        count += 1;
    }
    let writer = client.send_concurrently(pipeline);
    for _ in 0..count {
        let reply = client.read();
        assert!(matches!(reply, Resp::Int(_)), "{reply:?}");
    }
    writer.join().expect("writer");
    let text = client.cmd(&["GET", "paper", "PATH", "content"]).json();
    assert_eq!(text.as_str(), Some(trace.end_content.as_str()));

    // Through replica sync: a replica replays the trace offline and hands it in whole.
    let mut replica = TextDoc::new(99, TextLimits::default()).expect("replica");
    let (results, update) = replica.apply_batch(&trace.edits("content"));
    assert!(results.iter().all(Result::is_ok));
    client.send(&binary_request("MERGE", "paper-two", &update));
    assert_eq!(client.read(), int(1));
    let text = client.cmd(&["GET", "paper-two", "PATH", "content"]).json();
    assert_eq!(text.as_str(), Some(trace.end_content.as_str()));
}
