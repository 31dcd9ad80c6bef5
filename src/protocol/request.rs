//! Framing (step bytes in → frame → args): cutting one request off the
//! front of a connection's read buffer and handing back its arguments.
//!
//! Two request shapes are accepted, as in Redis:
//!
//! - multibulk, what client libraries send: `*<n>\r\n` followed by `n`
//!   arguments, each `$<len>\r\n<len bytes>\r\n`;
//! - inline, what people type: any line that does not start with `*`,
//!   ending at `\n` (a `\r` right before it is dropped), split into words
//!   by [`inline`](super::inline).
//!
//! Every size is checked against [`RequestLimits`] the moment it is
//! declared, so a client cannot make the server buffer more than the limits
//! allow. Parsing keeps no state between calls: a multibulk request that
//! has not fully arrived is parsed again from its start on the next call,
//! which costs time in its number of arguments (bulk data is jumped over,
//! never scanned), not in its bytes.

use bytes::{Buf, Bytes, BytesMut};
use smallvec::SmallVec;

use super::error::ProtocolError;
use super::inline;
use super::limits::RequestLimits;

/// One client request: the command name and its arguments.
#[derive(Debug, Clone)]
pub struct Request {
    /// What the arguments are cut from: a multibulk request as it arrived (a slice of the
    /// connection's read buffer, so taking it copies nothing), or an inline line's words laid
    /// end to end.
    bytes: Bytes,
    /// Where each argument lies in `bytes`, command name first; never empty. Held inline for
    /// the usual few arguments, so parsing a request allocates nothing, and an argument is
    /// counted as a reference of its own only when a command keeps it
    /// ([`Request::arg_bytes`]).
    spans: SmallVec<[(usize, usize); 4]>,
    /// Whether the request came as an inline line rather than multibulk;
    /// the server may answer inline requests differently (for example in
    /// how it reports errors to a person at a prompt).
    pub inline: bool,
}

impl Request {
    /// A request of `args` (command name first), copied end to end into one buffer.
    pub fn new<A: AsRef<[u8]>>(args: &[A], inline: bool) -> Request {
        let mut bytes = BytesMut::new();
        let mut spans = SmallVec::with_capacity(args.len());
        for arg in args {
            let start = bytes.len();
            bytes.extend_from_slice(arg.as_ref());
            spans.push((start, bytes.len()));
        }
        Request {
            bytes: bytes.freeze(),
            spans,
            inline,
        }
    }

    /// How many arguments, the command name included.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no arguments (a parsed request always has its command name).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Argument `index` (0 is the command name).
    pub fn arg(&self, index: usize) -> Option<&[u8]> {
        let &(start, end) = self.spans.get(index)?;
        self.bytes.get(start..end)
    }

    /// Argument `index` as bytes of its own, sharing the request's buffer.
    pub fn arg_bytes(&self, index: usize) -> Option<Bytes> {
        let &(start, end) = self.spans.get(index)?;
        Some(self.bytes.slice(start..end))
    }

    /// The arguments in order, command name first.
    pub fn args(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.spans
            .iter()
            .map(|&(start, end)| &self.bytes[start..end])
    }
}

/// Requests are equal when their arguments are, wherever those lie.
impl PartialEq for Request {
    fn eq(&self, other: &Request) -> bool {
        self.inline == other.inline && self.args().eq(other.args())
    }
}

impl Eq for Request {}

/// Cuts the first complete request off the front of `buf`.
///
/// Returns `Ok(Some(request))` after consuming the request's bytes, and
/// `Ok(None)` when more bytes are needed; blank inline lines and multibulk
/// requests declaring no arguments are consumed and skipped on the way, as
/// Redis does. On `Err` the connection should be answered with the error
/// and, if [`ProtocolError::is_fatal`], closed: the bytes left in `buf`
/// are then meaningless.
pub fn parse_request(
    buf: &mut BytesMut,
    limits: &RequestLimits,
) -> Result<Option<Request>, ProtocolError> {
    loop {
        let step = match buf.first() {
            None => return Ok(None),
            Some(b'*') => parse_multibulk(buf, limits)?,
            Some(_) => parse_inline(buf, limits)?,
        };
        match step {
            Step::Incomplete => return Ok(None),
            Step::Skipped => continue,
            Step::Parsed(request) => return Ok(Some(request)),
        }
    }
}

/// What one attempt at the front of the buffer found.
enum Step {
    /// The request has not fully arrived; nothing was consumed.
    Incomplete,
    /// A request with no arguments was consumed.
    Skipped,
    /// A request was consumed.
    Parsed(Request),
}

/// Why a header integer was refused.
enum NumberError {
    /// Not a strict decimal integer followed by `\r\n`.
    Malformed,
    /// Larger than the limit given.
    OverLimit,
}

/// Reads a header integer (`<digits>\r\n`) starting at `start`, returning
/// its value and the position after its `\r\n`, or `None` if it has not
/// fully arrived.
///
/// Digits only: no sign, no spaces, no leading zeros (except `0` itself),
/// as Redis's `string2ll` wants. The value is checked against `max` digit
/// by digit, so an overlong number fails before its end arrives.
fn read_number(buf: &[u8], start: usize, max: u64) -> Result<Option<(u64, usize)>, NumberError> {
    let mut value: u64 = 0;
    let mut position = start;
    loop {
        match buf.get(position) {
            None => return Ok(None),
            Some(&byte @ b'0'..=b'9') => {
                if position > start && value == 0 {
                    return Err(NumberError::Malformed);
                }
                value = value
                    .checked_mul(10)
                    .and_then(|value| value.checked_add(u64::from(byte - b'0')))
                    .ok_or(NumberError::OverLimit)?;
                if value > max {
                    return Err(NumberError::OverLimit);
                }
                position += 1;
            }
            Some(b'\r') if position > start => break,
            Some(_) => return Err(NumberError::Malformed),
        }
    }
    match buf.get(position + 1) {
        None => Ok(None),
        Some(b'\n') => Ok(Some((value, position + 2))),
        Some(_) => Err(NumberError::Malformed),
    }
}

/// Converts a limit to the integer type headers are read in.
fn limit_u64(limit: usize) -> u64 {
    u64::try_from(limit).unwrap_or(u64::MAX)
}

/// Reads the `*<n>\r\n` header, returning the declared argument count
/// (zero for a count that is zero or negative) and where the arguments
/// start.
fn read_count(buf: &[u8], limits: &RequestLimits) -> Result<Option<(usize, usize)>, ProtocolError> {
    if buf.get(1) == Some(&b'-') {
        // A negative count is a strict integer that fits an i64 and is
        // not zero; Redis skips such requests.
        return match read_number(buf, 2, 1 << 63) {
            Ok(Some((0, _))) | Err(_) => Err(ProtocolError::InvalidMultibulkLength),
            Ok(Some((_, end))) => Ok(Some((0, end))),
            Ok(None) => Ok(None),
        };
    }
    match read_number(buf, 1, limit_u64(limits.args_max)) {
        Ok(Some((count, end))) => {
            let count =
                usize::try_from(count).map_err(|_| ProtocolError::InvalidMultibulkLength)?;
            Ok(Some((count, end)))
        }
        Ok(None) => Ok(None),
        Err(NumberError::Malformed) => Err(ProtocolError::InvalidMultibulkLength),
        Err(NumberError::OverLimit) if limits.authenticated => {
            Err(ProtocolError::InvalidMultibulkLength)
        }
        Err(NumberError::OverLimit) => Err(ProtocolError::UnauthenticatedMultibulkLength),
    }
}

/// Reads a `$<len>\r\n` header whose `$` is at `start`, returning the
/// declared length and where the data starts.
fn read_bulk_header(
    buf: &[u8],
    start: usize,
    limits: &RequestLimits,
) -> Result<Option<(usize, usize)>, ProtocolError> {
    match buf.get(start) {
        None => return Ok(None),
        Some(b'$') => {}
        Some(&got) => return Err(ProtocolError::ExpectedDollar { got }),
    }
    match read_number(buf, start + 1, limit_u64(limits.bulk_bytes_max)) {
        Ok(Some((len, data_start))) => {
            let len = usize::try_from(len).map_err(|_| ProtocolError::InvalidBulkLength)?;
            Ok(Some((len, data_start)))
        }
        Ok(None) => Ok(None),
        Err(NumberError::Malformed) => Err(ProtocolError::InvalidBulkLength),
        Err(NumberError::OverLimit) if limits.authenticated => {
            Err(ProtocolError::InvalidBulkLength)
        }
        Err(NumberError::OverLimit) => Err(ProtocolError::UnauthenticatedBulkLength),
    }
}

/// Where a complete multibulk request ends.
struct MultibulkFrame {
    /// Bytes from `*` to the last argument's `\r\n`.
    frame_bytes: usize,
    /// Declared arguments; zero for a request to skip.
    count: usize,
    /// Where the first argument's `$` is.
    args_start: usize,
}

/// Checks the multibulk request at the front of `buf` without consuming
/// anything, returning its extent once it has fully arrived.
fn scan_multibulk(
    buf: &[u8],
    limits: &RequestLimits,
) -> Result<Option<MultibulkFrame>, ProtocolError> {
    let Some((count, args_start)) = read_count(buf, limits)? else {
        return Ok(None);
    };
    let mut position = args_start;
    let mut request_bytes: usize = 0;
    for _ in 0..count {
        let Some((len, data_start)) = read_bulk_header(buf, position, limits)? else {
            return Ok(None);
        };
        request_bytes = request_bytes.saturating_add(len);
        if request_bytes > limits.request_bytes_max {
            return Err(ProtocolError::RequestTooLarge {
                request_bytes,
                request_bytes_max: limits.request_bytes_max,
            });
        }
        let data_end = data_start
            .checked_add(len)
            .ok_or(ProtocolError::InvalidBulkLength)?;
        match (buf.get(data_end), buf.get(data_end + 1)) {
            (Some(b'\r'), Some(b'\n')) => position = data_end + 2,
            (None, _) | (Some(b'\r'), None) => return Ok(None),
            _ => return Err(ProtocolError::MissingBulkTerminator),
        }
    }
    Ok(Some(MultibulkFrame {
        frame_bytes: position,
        count,
        args_start,
    }))
}

/// Parses the multibulk request at the front of `buf`.
fn parse_multibulk(buf: &mut BytesMut, limits: &RequestLimits) -> Result<Step, ProtocolError> {
    let Some(frame) = scan_multibulk(buf, limits)? else {
        return Ok(Step::Incomplete);
    };
    if frame.count == 0 {
        buf.advance(frame.frame_bytes);
        return Ok(Step::Skipped);
    }
    let bytes = buf.split_to(frame.frame_bytes).freeze();
    // The scan has validated every header, so reading them again cannot
    // fail; the limits passed here only repeat what the scan accepted.
    let mut spans = SmallVec::with_capacity(frame.count);
    let mut position = frame.args_start;
    for _ in 0..frame.count {
        let Some((len, data_start)) = read_bulk_header(&bytes, position, limits)? else {
            return Err(ProtocolError::InvalidBulkLength);
        };
        spans.push((data_start, data_start + len));
        position = data_start + len + 2;
    }
    Ok(Step::Parsed(Request {
        bytes,
        spans,
        inline: false,
    }))
}

/// Parses the inline line at the front of `buf`.
fn parse_inline(buf: &mut BytesMut, limits: &RequestLimits) -> Result<Step, ProtocolError> {
    // A line may hold `inline_bytes_max` bytes, then `\r`, then `\n`; a
    // newline further away than that means the line is too long.
    let inline_bytes_max = limits.inline_bytes_max;
    let scan_bytes = buf.len().min(inline_bytes_max.saturating_add(2));
    let Some(newline) = buf[..scan_bytes].iter().position(|&byte| byte == b'\n') else {
        // Without a newline the line is already too long once it holds
        // more than `inline_bytes_max` bytes that are not a final `\r`.
        let too_long = match buf.len().checked_sub(inline_bytes_max) {
            None | Some(0) => false,
            Some(1) => buf.last() != Some(&b'\r'),
            Some(_) => true,
        };
        return if too_long {
            Err(ProtocolError::TooBigInline)
        } else {
            Ok(Step::Incomplete)
        };
    };
    let line_bytes = if newline > 0 && buf[newline - 1] == b'\r' {
        newline - 1
    } else {
        newline
    };
    if line_bytes > inline_bytes_max {
        return Err(ProtocolError::TooBigInline);
    }
    if line_bytes > limits.request_bytes_max {
        return Err(ProtocolError::RequestTooLarge {
            request_bytes: line_bytes,
            request_bytes_max: limits.request_bytes_max,
        });
    }
    let frame = buf.split_to(newline + 1).freeze();
    let args = split_inline(&frame.slice(..line_bytes))?;
    if args.is_empty() {
        return Ok(Step::Skipped);
    }
    Ok(Step::Parsed(Request::new(&args, true)))
}

/// Whether a command's last argument is a JSON value that must stay whole
/// on an inline line.
fn takes_rest_as_value(command: &[u8]) -> bool {
    [&b"SET"[..], b"PUSH", b"PULL", b"PRESENCE"]
        .iter()
        .any(|name| command.eq_ignore_ascii_case(name))
}

/// Splits an inline line into arguments, keeping the value of `SET`, `PUSH`,
/// `PULL` and `PRESENCE` (everything after `command id path`) and the update
/// of `MERGE` (everything after `MERGE id`) as one argument.
///
/// Public so that the `ussl` client splits what a person types exactly as
/// the server splits the same line sent inline.
pub fn split_inline(line: &Bytes) -> Result<Vec<Bytes>, ProtocolError> {
    let is_merge = line
        .get(..6)
        .is_some_and(|start| start.eq_ignore_ascii_case(b"MERGE "));
    let (mut args, rest) = inline::split_prefix(line, if is_merge { 2 } else { 3 })?;
    if rest.is_empty() {
        return Ok(args);
    }
    if is_merge
        || args
            .first()
            .is_some_and(|command| takes_rest_as_value(command))
    {
        let value_bytes = rest
            .iter()
            .rposition(|&byte| !inline::is_space(byte))
            .map_or(0, |last| last + 1);
        args.push(inline::rest_value(rest.slice(..value_bytes))?);
    } else {
        args.extend(inline::split_args(&rest)?);
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::reply::Reply;

    fn authenticated() -> RequestLimits {
        RequestLimits::authenticated(1024 * 1024)
    }

    /// Parses every request in `input` (all present at once).
    fn parse_all(
        input: &[u8],
        limits: &RequestLimits,
    ) -> (Vec<Request>, Option<ProtocolError>, usize) {
        let mut buf = BytesMut::from(input);
        let mut requests = Vec::new();
        loop {
            match parse_request(&mut buf, limits) {
                Ok(Some(request)) => requests.push(request),
                Ok(None) => return (requests, None, buf.len()),
                Err(error) if !error.is_fatal() => continue,
                Err(error) => return (requests, Some(error), buf.len()),
            }
        }
    }

    fn one(input: &[u8], limits: &RequestLimits) -> Result<Option<Request>, ProtocolError> {
        parse_request(&mut BytesMut::from(input), limits)
    }

    fn args_of(input: &[u8]) -> Vec<Vec<u8>> {
        match one(input, &authenticated()) {
            Ok(Some(request)) => request.args().map(<[u8]>::to_vec).collect(),
            other => panic!("expected one request from {input:?}, got {other:?}"),
        }
    }

    fn words(list: &[&[u8]]) -> Vec<Vec<u8>> {
        list.iter().map(|word| word.to_vec()).collect()
    }

    fn multibulk(args: &[&[u8]]) -> Vec<u8> {
        let mut out = BytesMut::new();
        Reply::Array(
            args.iter()
                .map(|arg| Reply::Bulk(Bytes::copy_from_slice(arg)))
                .collect(),
        )
        .encode(&mut out, crate::protocol::reply::Protocol::Resp2);
        out.to_vec()
    }

    #[test]
    fn multibulk_round_trips_arguments() {
        let input = multibulk(&[b"SET", b"k", b"", b"with\r\nnewline"]);
        let mut buf = BytesMut::from(&input[..]);
        let request = parse_request(&mut buf, &authenticated());
        assert_eq!(
            request,
            Ok(Some(Request::new(
                &[&b"SET"[..], b"k", b"", b"with\r\nnewline"],
                false
            )))
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn multibulk_args_are_slices_of_the_buffer() {
        let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPING\r\n"[..]);
        let start = buf.as_ptr();
        let request = parse_request(&mut buf, &authenticated());
        let arg_ptr = request
            .ok()
            .flatten()
            .and_then(|request| request.arg(0).map(<[u8]>::as_ptr));
        assert_eq!(arg_ptr, Some(start.wrapping_add(8)));
    }

    #[test]
    fn multibulk_leaves_following_bytes_in_buffer() {
        let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPING\r\n*1"[..]);
        assert!(matches!(
            parse_request(&mut buf, &authenticated()),
            Ok(Some(_))
        ));
        assert_eq!(&buf[..], b"*1");
    }

    #[test]
    fn partial_multibulk_consumes_nothing() {
        let input = multibulk(&[b"GET", b"key"]);
        for end in 0..input.len() {
            let mut buf = BytesMut::from(&input[..end]);
            assert_eq!(parse_request(&mut buf, &authenticated()), Ok(None));
            assert_eq!(buf.len(), end, "prefix of {end} bytes was consumed");
        }
    }

    #[test]
    fn empty_and_negative_multibulk_are_skipped() {
        let (requests, error, left) =
            parse_all(b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", &authenticated());
        assert_eq!(requests.len(), 1);
        assert_eq!(error, None);
        assert_eq!(left, 0);
    }

    #[test]
    fn inline_ping_with_crlf_and_lf() {
        assert_eq!(args_of(b"PING\r\n"), words(&[b"PING"]));
        assert_eq!(args_of(b"PING\n"), words(&[b"PING"]));
        assert_eq!(
            one(b"PING\r\n", &authenticated())
                .ok()
                .flatten()
                .map(|r| r.inline),
            Some(true)
        );
    }

    #[test]
    fn inline_without_newline_waits() {
        let mut buf = BytesMut::from(&b"PING"[..]);
        assert_eq!(parse_request(&mut buf, &authenticated()), Ok(None));
        assert_eq!(buf.len(), 4);
    }

    #[test]
    fn blank_inline_lines_are_skipped() {
        let (requests, error, left) = parse_all(b"\r\n  \n\t\r\nPING\r\n", &authenticated());
        assert_eq!(requests.len(), 1);
        assert_eq!(error, None);
        assert_eq!(left, 0);
    }

    #[test]
    fn inline_quoted_arguments() {
        assert_eq!(
            args_of(b"GET \"a b\" 'c d'\r\n"),
            words(&[b"GET", b"a b", b"c d"])
        );
    }

    #[test]
    fn set_rest_plain_word() {
        assert_eq!(
            args_of(b"SET u name Alice\r\n"),
            words(&[b"SET", b"u", b"name", b"Alice"])
        );
    }

    #[test]
    fn set_rest_json_string_is_unchanged() {
        assert_eq!(
            args_of(b"SET u name \"Alice\"\n"),
            words(&[b"SET", b"u", b"name", b"\"Alice\""])
        );
    }

    #[test]
    fn set_rest_single_quoted_words() {
        assert_eq!(
            args_of(b"set u name 'Alice Smith'\r\n"),
            words(&[b"set", b"u", b"name", b"Alice Smith"])
        );
    }

    #[test]
    fn set_rest_json_object_with_spaces_is_one_argument() {
        let expected = words(&[
            b"SET",
            b"vehicle:1",
            b"data",
            br#"{"lat": 45.1, "lon": 9.2}"#,
        ]);
        assert_eq!(
            args_of(b"SET vehicle:1 data {\"lat\": 45.1, \"lon\": 9.2}\r\n"),
            expected
        );
        assert_eq!(
            args_of(b"SET vehicle:1 data {\"lat\": 45.1, \"lon\": 9.2}  \n"),
            expected
        );
    }

    #[test]
    fn push_rest_is_one_argument() {
        assert_eq!(
            args_of(b"Push list items [1, 2, 3]\r\n"),
            words(&[b"Push", b"list", b"items", b"[1, 2, 3]"])
        );
    }

    #[test]
    fn set_with_fewer_than_three_words_is_just_the_words() {
        assert_eq!(args_of(b"SET u\r\n"), words(&[b"SET", b"u"]));
        assert_eq!(
            args_of(b"SET u name   \r\n"),
            words(&[b"SET", b"u", b"name"])
        );
    }

    #[test]
    fn other_commands_split_every_word() {
        assert_eq!(
            args_of(b"GET a b [1, 2]\r\n"),
            words(&[b"GET", b"a", b"b", b"[1,", b"2]"])
        );
    }

    #[test]
    fn unbalanced_quotes_consume_the_line_and_are_not_fatal() {
        let mut buf = BytesMut::from(&b"GET \"abc\r\nPING\r\n"[..]);
        let error = parse_request(&mut buf, &authenticated());
        assert_eq!(error, Err(ProtocolError::UnbalancedQuotes));
        assert_eq!(&buf[..], b"PING\r\n");
    }

    #[test]
    fn many_pipelined_requests_in_one_buffer() {
        let mut input = Vec::new();
        for index in 0..1000 {
            if index % 2 == 0 {
                input.extend(multibulk(&[b"SET", index.to_string().as_bytes(), b"v"]));
            } else {
                input.extend(format!("GET {index}\r\n").as_bytes());
            }
        }
        let (requests, error, left) = parse_all(&input, &authenticated());
        assert_eq!(requests.len(), 1000);
        assert_eq!(error, None);
        assert_eq!(left, 0);
        assert_eq!(requests[999].arg(1), Some(&b"999"[..]));
        assert_eq!(requests[998].arg(1), Some(&b"998"[..]));
    }

    #[test]
    fn pipeline_fed_one_byte_at_a_time_gives_same_requests() {
        let mut input = Vec::new();
        input.extend(multibulk(&[b"SET", b"k", b"{\"a\": 1}"]));
        input.extend(b"PING\r\n\r\n*0\r\n");
        input.extend(b"SET u name 'Alice Smith'\n");
        input.extend(multibulk(&[b"GET", b"", b"x\r\ny"]));
        input.extend(b"*-1\r\nGET \"a\\x41\" b\r\n");
        let (expected, expected_error, _) = parse_all(&input, &authenticated());
        assert_eq!(expected.len(), 5);
        assert_eq!(expected_error, None);

        let mut buf = BytesMut::new();
        let mut requests = Vec::new();
        for &byte in &input {
            buf.extend_from_slice(&[byte]);
            while let Ok(Some(request)) = parse_request(&mut buf, &authenticated()) {
                requests.push(request);
            }
        }
        assert_eq!(requests, expected);
        assert!(buf.is_empty());
    }

    #[test]
    fn multibulk_count_must_be_strict_integer() {
        for input in [
            &b"*\r\n"[..],
            b"*+1\r\n",
            b"* 1\r\n",
            b"*1 \r\n",
            b"*01\r\n",
            b"*-0\r\n",
            b"*-\r\n",
            b"*1x",
            b"*1\rx",
            b"*-99999999999999999999\r\n",
        ] {
            assert_eq!(
                one(input, &authenticated()),
                Err(ProtocolError::InvalidMultibulkLength),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn bulk_length_must_be_strict_integer() {
        for input in [
            &b"*1\r\n$\r\n"[..],
            b"*1\r\n$-1\r\n",
            b"*1\r\n$+1\r\n",
            b"*1\r\n$01\r\n",
            b"*1\r\n$1 \r\n",
            b"*1\r\n$1\rx",
        ] {
            assert_eq!(
                one(input, &authenticated()),
                Err(ProtocolError::InvalidBulkLength),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn argument_without_dollar_is_expected_dollar_error() {
        assert_eq!(
            one(b"*1\r\nX", &authenticated()),
            Err(ProtocolError::ExpectedDollar { got: b'X' })
        );
    }

    #[test]
    fn bulk_data_not_followed_by_crlf_is_error() {
        assert_eq!(
            one(b"*1\r\n$1\r\nabc", &authenticated()),
            Err(ProtocolError::MissingBulkTerminator)
        );
        assert_eq!(
            one(b"*1\r\n$1\r\na\rc", &authenticated()),
            Err(ProtocolError::MissingBulkTerminator)
        );
    }

    #[test]
    fn huge_declared_bulk_fails_before_its_bytes_arrive() {
        assert_eq!(
            one(b"*1\r\n$1000000000\r\n", &authenticated()),
            Err(ProtocolError::InvalidBulkLength)
        );
        // The digits alone already exceed the limit; no `\r\n` is needed.
        assert_eq!(
            one(b"*1\r\n$10000000", &authenticated()),
            Err(ProtocolError::InvalidBulkLength)
        );
    }

    #[test]
    fn huge_declared_count_fails_before_arguments_arrive() {
        assert_eq!(
            one(b"*2000000\r\n", &authenticated()),
            Err(ProtocolError::InvalidMultibulkLength)
        );
    }

    #[test]
    fn declared_lengths_summing_over_request_limit_fail_at_once() {
        let limits = RequestLimits::authenticated(10);
        assert_eq!(
            one(b"*2\r\n$6\r\nabcdef\r\n$6\r\n", &limits),
            Err(ProtocolError::RequestTooLarge {
                request_bytes: 12,
                request_bytes_max: 10,
            })
        );
    }

    #[test]
    fn request_at_exact_limits_is_accepted() {
        let limits = RequestLimits {
            request_bytes_max: 4,
            args_max: 2,
            bulk_bytes_max: 3,
            inline_bytes_max: 4,
            authenticated: true,
        };
        assert!(matches!(
            one(b"*2\r\n$3\r\nabc\r\n$1\r\nd\r\n", &limits),
            Ok(Some(_))
        ));
        assert!(matches!(one(b"ab c\r\n", &limits), Ok(Some(_))));
    }

    #[test]
    fn unauthenticated_limits_use_unauthenticated_wording() {
        let limits = RequestLimits::unauthenticated();
        assert_eq!(
            one(b"*11\r\n", &limits),
            Err(ProtocolError::UnauthenticatedMultibulkLength)
        );
        assert_eq!(
            one(b"*1\r\n$16385\r\n", &limits),
            Err(ProtocolError::UnauthenticatedBulkLength)
        );
        assert!(matches!(one(b"*10\r\n", &limits), Ok(None)));
        assert!(matches!(one(b"*1\r\n$16384\r\n", &limits), Ok(None)));
    }

    #[test]
    fn unauthenticated_inline_line_is_capped_at_16_kib() {
        let limits = RequestLimits::unauthenticated();
        let mut line = vec![b'a'; 16385];
        assert_eq!(one(&line, &limits), Err(ProtocolError::TooBigInline));
        line.truncate(16384);
        line.extend(b"\r\n");
        assert!(matches!(one(&line, &limits), Ok(Some(_))));
    }

    #[test]
    fn inline_line_without_newline_fails_once_over_limit() {
        let limits = RequestLimits {
            inline_bytes_max: 4,
            ..authenticated()
        };
        assert_eq!(one(b"abcd", &limits), Ok(None));
        assert_eq!(one(b"abcd\r", &limits), Ok(None));
        assert_eq!(one(b"abcde", &limits), Err(ProtocolError::TooBigInline));
        assert_eq!(one(b"abcd\rx", &limits), Err(ProtocolError::TooBigInline));
    }

    #[test]
    fn inline_line_with_newline_over_limit_fails() {
        let limits = RequestLimits {
            inline_bytes_max: 4,
            ..authenticated()
        };
        assert_eq!(one(b"abcde\n", &limits), Err(ProtocolError::TooBigInline));
        assert_eq!(one(b"abcde\r\n", &limits), Err(ProtocolError::TooBigInline));
    }

    #[test]
    fn inline_line_over_request_limit_fails() {
        let limits = RequestLimits {
            request_bytes_max: 3,
            ..authenticated()
        };
        assert_eq!(
            one(b"abcd\r\n", &limits),
            Err(ProtocolError::RequestTooLarge {
                request_bytes: 4,
                request_bytes_max: 3,
            })
        );
    }
}
