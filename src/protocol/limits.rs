//! How big a request may be (checked during step bytes in → frame): the
//! bounds that keep one client from making the server buffer or allocate
//! without limit.

/// The sizes one request may reach on a connection.
///
/// Every limit is checked against the size a client *declares* as soon as
/// the declaration is read, before the bytes themselves arrive, so the
/// server never buffers more than these bounds for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Most bytes one request may occupy (sum of bulk lengths for multibulk; the line for inline).
    pub request_bytes_max: usize,
    /// Most arguments in one multibulk request.
    pub args_max: usize,
    /// Most bytes one bulk argument may hold.
    pub bulk_bytes_max: usize,
    /// Most bytes an inline line may have before its newline (a `\r`
    /// right before the newline is not counted).
    pub inline_bytes_max: usize,
    /// Whether these are an authenticated connection's limits; decides
    /// whether over-limit errors use Redis's "unauthenticated" wording.
    pub authenticated: bool,
}

impl RequestLimits {
    /// Most arguments an authenticated multibulk request may declare.
    ///
    /// Redis allows up to `INT_MAX`; a million is far beyond any `usld`
    /// command and keeps the argument vector of one request bounded.
    pub const AUTHENTICATED_ARGS_MAX: usize = 1024 * 1024;
    /// Most bytes of an inline line: Redis's `PROTO_INLINE_MAX_SIZE`.
    pub const INLINE_BYTES_MAX: usize = 64 * 1024;
    /// Most arguments before authentication, as Redis allows.
    pub const UNAUTHENTICATED_ARGS_MAX: usize = 10;
    /// Most bytes in one argument (and one inline line) before
    /// authentication, as Redis allows.
    pub const UNAUTHENTICATED_BULK_BYTES_MAX: usize = 16 * 1024;

    /// Limits for a connection that has authenticated (or needs no
    /// authentication), with `request_bytes_max` the configured largest
    /// request.
    ///
    /// One argument may fill the whole request, and an inline line is
    /// capped at Redis's 64 KiB (or the request limit, if smaller).
    pub fn authenticated(request_bytes_max: usize) -> Self {
        Self {
            request_bytes_max,
            args_max: Self::AUTHENTICATED_ARGS_MAX,
            bulk_bytes_max: request_bytes_max,
            inline_bytes_max: Self::INLINE_BYTES_MAX.min(request_bytes_max),
            authenticated: true,
        }
    }

    /// Limits for a connection that must still authenticate.
    ///
    /// They mirror Redis's defence against CVE-2021-32675: a client that
    /// has not proven who it is may send only small requests (at most ten
    /// arguments of at most 16 KiB each), so unauthenticated connections
    /// cannot exhaust the server's memory.
    pub fn unauthenticated() -> Self {
        Self {
            request_bytes_max: Self::UNAUTHENTICATED_BULK_BYTES_MAX
                * Self::UNAUTHENTICATED_ARGS_MAX,
            args_max: Self::UNAUTHENTICATED_ARGS_MAX,
            bulk_bytes_max: Self::UNAUTHENTICATED_BULK_BYTES_MAX,
            inline_bytes_max: Self::UNAUTHENTICATED_BULK_BYTES_MAX,
            authenticated: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authenticated_caps_inline_at_64_kib() {
        let limits = RequestLimits::authenticated(512 * 1024 * 1024);
        assert_eq!(limits.inline_bytes_max, 64 * 1024);
        assert_eq!(limits.bulk_bytes_max, 512 * 1024 * 1024);
        assert_eq!(limits.request_bytes_max, 512 * 1024 * 1024);
        assert_eq!(limits.args_max, 1_048_576);
        assert!(limits.authenticated);
    }

    #[test]
    fn authenticated_caps_inline_at_request_limit_when_smaller() {
        let limits = RequestLimits::authenticated(1000);
        assert_eq!(limits.inline_bytes_max, 1000);
    }

    #[test]
    fn unauthenticated_mirrors_redis_cve_2021_32675_defence() {
        let limits = RequestLimits::unauthenticated();
        assert_eq!(limits.args_max, 10);
        assert_eq!(limits.bulk_bytes_max, 16384);
        assert_eq!(limits.inline_bytes_max, 16384);
        assert_eq!(limits.request_bytes_max, 163_840);
        assert!(!limits.authenticated);
    }
}
