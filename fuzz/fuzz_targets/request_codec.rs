//! Fuzzes the request codec (bytes in → frame → args) with arbitrary client
//! bytes.
//!
//! For every input and several sets of limits it checks that parsing never
//! panics, that every request or skipped line consumes bytes (so the
//! server's read loop cannot spin), that the input gives the same requests
//! and errors however it is cut into reads, and that every request's
//! arguments, encoded as bulk replies, parse back to themselves.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use usld::protocol::{parse_request, ProtocolError, Reply, Request, RequestLimits};

/// Inputs up to this size are also fed one byte per read.
const BYTEWISE_INPUT_BYTES_MAX: usize = 512;

/// One thing parsing a stream produced.
#[derive(Debug, PartialEq)]
enum Outcome {
    Request(Request),
    Error(ProtocolError),
}

/// Limits small enough for fuzz inputs to cross every one of them.
fn tiny_limits() -> RequestLimits {
    RequestLimits {
        request_bytes_max: 64,
        args_max: 4,
        bulk_bytes_max: 16,
        inline_bytes_max: 24,
        authenticated: true,
    }
}

/// Checks that `request`'s arguments survive being encoded as a multibulk
/// of bulk replies and parsed again.
fn check_round_trip(request: &Request) {
    let mut encoded = BytesMut::new();
    Reply::Array(request.args().map(|arg| Reply::Bulk(Bytes::copy_from_slice(arg))).collect()).encode(&mut encoded, usld::protocol::reply::Protocol::Resp2);
    let parsed = parse_request(&mut encoded, &RequestLimits::authenticated(1 << 30));
    let expected = Request::new(&request.args().collect::<Vec<_>>(), false);
    assert_eq!(parsed, Ok(Some(expected)));
    assert!(encoded.is_empty(), "round trip left bytes behind");
}

/// Parses `chunks` as successive reads of one connection, stopping at the
/// first fatal error as the server does.
fn run(chunks: &[&[u8]], limits: &RequestLimits) -> Vec<Outcome> {
    let mut buf = BytesMut::new();
    let mut outcomes = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            let before = buf.len();
            match parse_request(&mut buf, limits) {
                Ok(Some(request)) => {
                    assert!(buf.len() < before, "a request consumed no bytes");
                    assert!(!request.is_empty(), "a request has no arguments");
                    check_round_trip(&request);
                    outcomes.push(Outcome::Request(request));
                }
                Ok(None) => {
                    assert!(buf.len() <= before, "parsing grew the buffer");
                    break;
                }
                Err(error) => {
                    let fatal = error.is_fatal();
                    assert!(
                        fatal || buf.len() < before,
                        "a non-fatal error consumed no bytes"
                    );
                    outcomes.push(Outcome::Error(error));
                    if fatal {
                        return outcomes;
                    }
                }
            }
        }
    }
    outcomes
}

fuzz_target!(|data: &[u8]| {
    let Some((&split_seed, input)) = data.split_first() else {
        return;
    };
    let split_at = usize::from(split_seed) * input.len() / 255;
    let (head, tail) = input.split_at(split_at.min(input.len()));
    for limits in [
        RequestLimits::authenticated(1 << 20),
        RequestLimits::unauthenticated(),
        tiny_limits(),
    ] {
        let whole = run(&[input], &limits);
        assert_eq!(run(&[head, tail], &limits), whole, "split at {split_at}");
        if input.len() <= BYTEWISE_INPUT_BYTES_MAX {
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            assert_eq!(run(&bytes, &limits), whole, "fed byte by byte");
        }
    }
});
