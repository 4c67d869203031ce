//! Rate limits (GCRA, with `governor`): per client address, or per partner key.
//!
//! - **Who is a client**: the peer address of the connection. Only when the peer is a trusted
//!   proxy (`rate_limit.trusted_proxies`) does `X-Forwarded-For` count, read from the right: the
//!   right-most address that is not itself a trusted proxy is the client (every address to its
//!   left was written by that client, and can be anything). From any other peer the header is
//!   ignored, so a forged one changes nothing. IPv6 clients are counted by their /64 (one host
//!   usually holds a whole /64, and could otherwise take a new quota with each address).
//! - **Partners** send `X-Api-Key`; a configured key has a quota of its own, shared by every
//!   address it is sent from. An unknown key is answered `401` (`invalid-api-key`) rather than
//!   served as an anonymous client, so that a partner notices a typo at once; but it is counted
//!   against the sending client's own quota first, so that guessing keys is as slow as any
//!   other request (over the quota, the guess gets the `429`, not the `401`). Keys are looked up
//!   by their SHA-256 digest, never compared as secrets: how long a lookup takes says nothing
//!   about a key.
//! - **Over the limit**: `429` problem+json (`rate-limited`) with `Retry-After` (whole seconds,
//!   at least 1). Every counted answer carries the IETF draft headers `RateLimit-Limit` (the
//!   burst), `RateLimit-Remaining`, `RateLimit-Reset` (seconds until the whole burst is back) and
//!   `RateLimit-Policy` (`<burst>;w=<seconds to refill it>`).
//! - **Not counted**: `/healthz`, `/readyz` and `/metrics` (probes must always get through), and
//!   the content-hashed assets under `/static/` and `/favicon.ico` (immutable, cached by
//!   browsers for a year), so that a page view costs one request.
//! - **Memory**: the limiter keeps one small entry per client address seen; entries whose quota
//!   is full again are dropped by [`RateLimits::retain_recent`], which the server calls every
//!   minute, so the table holds the clients of about the last minute.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::web;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use ipnet::IpNet;
use sha2::{Digest, Sha256};

use super::error::{problem_response, Problem};
use crate::config::RateLimitConfig;
use crate::{Error, Result};

/// The header partners send their key in.
pub const API_KEY_HEADER: &str = "x-api-key";
const X_FORWARDED_FOR: &str = "x-forwarded-for";

type ClientLimiter =
    RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock, StateInformationMiddleware>;
type PartnerLimiter =
    RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// The limiters of one server, shared by its workers.
pub struct RateLimits {
    clients: ClientLimiter,
    client_quota: Quota,
    trusted: Vec<IpNet>,
    /// By the SHA-256 digest of the key.
    partners: HashMap<[u8; 32], Partner>,
}

struct Partner {
    name: String,
    limiter: PartnerLimiter,
    quota: Quota,
}

/// What the limiter decided for one request.
enum Decision {
    Allowed(Quotas),
    Limited(Quotas),
    /// An unknown key, counted against the client's quota (which allowed it).
    InvalidKey(Quotas),
}

impl Decision {
    fn for_partner(self, name: &str) -> Decision {
        let partner = Some(name.to_string());
        match self {
            Decision::Allowed(q) => Decision::Allowed(Quotas { partner, ..q }),
            Decision::Limited(q) => Decision::Limited(Quotas { partner, ..q }),
            Decision::InvalidKey(q) => Decision::InvalidKey(q),
        }
    }
}

/// The numbers the `RateLimit-*` headers and the 429 report.
struct Quotas {
    quota: Quota,
    remaining: u32,
    /// Until the whole burst is available again.
    reset: Duration,
    /// Until the next request is allowed (only when limited).
    retry_after: Duration,
    partner: Option<String>,
}

impl RateLimits {
    pub fn new(config: &RateLimitConfig) -> Result<RateLimits> {
        config.validate()?;
        let client_quota = quota(config.per_minute, config.burst)?;
        let mut partners = HashMap::new();
        for partner in &config.partner_keys {
            let quota = quota(partner.per_minute, partner.burst)?;
            partners.insert(
                digest(partner.key.as_bytes()),
                Partner {
                    name: partner.name.clone(),
                    limiter: RateLimiter::direct(quota)
                        .with_middleware::<StateInformationMiddleware>(),
                    quota,
                },
            );
        }
        Ok(RateLimits {
            clients: RateLimiter::dashmap(client_quota)
                .with_middleware::<StateInformationMiddleware>(),
            client_quota,
            trusted: config.trusted_networks()?,
            partners,
        })
    }

    /// Forgets the clients whose quota is full again (they would start afresh anyway), and
    /// gives the memory back.
    pub fn retain_recent(&self) {
        self.clients.retain_recent();
        self.clients.shrink_to_fit();
    }

    fn check(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Decision {
        if let Some(key) = headers.get(API_KEY_HEADER) {
            let Some(partner) = self.partners.get(&digest(key.as_bytes())) else {
                return match self.check_client(peer, headers) {
                    Decision::Allowed(quotas) => Decision::InvalidKey(quotas),
                    other => other,
                };
            };
            let decision = match partner.limiter.check() {
                Ok(snapshot) => Decision::Allowed(Quotas::allowed(
                    partner.quota,
                    snapshot.remaining_burst_capacity(),
                )),
                Err(not_until) => Decision::Limited(Quotas::limited(
                    partner.quota,
                    not_until.wait_time_from(partner.limiter.clock().now()),
                )),
            };
            return decision.for_partner(&partner.name);
        }
        self.check_client(peer, headers)
    }

    /// Counts a request against the quota of the client address.
    fn check_client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Decision {
        let peer = peer.unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        let forwarded = headers
            .get_all(X_FORWARDED_FOR)
            .map(|v| v.to_str().unwrap_or(""));
        let key = bucket(client_address(peer, forwarded, &self.trusted));
        match self.clients.check_key(&key) {
            Ok(snapshot) => Decision::Allowed(Quotas::allowed(
                self.client_quota,
                snapshot.remaining_burst_capacity(),
            )),
            Err(not_until) => Decision::Limited(Quotas::limited(
                self.client_quota,
                not_until.wait_time_from(self.clients.clock().now()),
            )),
        }
    }
}

impl Quotas {
    fn allowed(quota: Quota, remaining: u32) -> Quotas {
        let used = quota.burst_size().get().saturating_sub(remaining);
        Quotas {
            quota,
            remaining,
            reset: quota.replenish_interval() * used,
            retry_after: Duration::ZERO,
            partner: None,
        }
    }

    fn limited(quota: Quota, wait: Duration) -> Quotas {
        let rest_of_burst = quota.burst_size().get() - 1;
        Quotas {
            quota,
            remaining: 0,
            reset: wait + quota.replenish_interval() * rest_of_burst,
            retry_after: wait,
            partner: None,
        }
    }

    fn insert_headers(&self, headers: &mut HeaderMap) {
        let burst = self.quota.burst_size().get();
        let window = whole_seconds(self.quota.burst_size_replenished_in());
        for (name, value) in [
            ("ratelimit-limit", burst.to_string()),
            ("ratelimit-remaining", self.remaining.to_string()),
            ("ratelimit-reset", whole_seconds(self.reset).to_string()),
            ("ratelimit-policy", format!("{burst};w={window}")),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
    }

    fn too_many_requests(&self) -> Problem {
        let retry = whole_seconds(self.retry_after).max(1);
        let burst = self.quota.burst_size().get();
        let per_minute = per_minute(self.quota);
        let whose = match &self.partner {
            Some(name) => format!("partner key {name:?}"),
            None => "this client address".to_string(),
        };
        Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!(
                "The quota of {whose} ({burst} requests at once, {per_minute} a minute) is used up; retry in {retry} s (Retry-After)."
            ),
        )
    }
}

/// The middleware (wired with `actix_web::middleware::from_fn` inside CORS and the header
/// defaults, so that a 429 carries those too, and outside the conditional requests, so that a
/// 304 counts as well).
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> std::result::Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let limits = match req.app_data::<web::Data<RateLimits>>() {
        Some(limits) if !exempt(req.path()) => limits.clone(),
        _ => return Ok(next.call(req).await?.map_into_boxed_body()),
    };
    let peer = req.peer_addr().map(|a| a.ip());
    match limits.check(peer, req.headers()) {
        Decision::Allowed(quotas) => {
            let mut res = next.call(req).await?.map_into_boxed_body();
            quotas.insert_headers(res.headers_mut());
            Ok(res)
        }
        Decision::Limited(quotas) => {
            tracing::debug!(partner = ?quotas.partner, path = req.path(), "rate limited");
            if let Some(state) = req.app_data::<web::Data<super::AppState>>() {
                state.metrics.rate_limited(quotas.partner.is_some());
            }
            let mut response = problem_response(&quotas.too_many_requests());
            let headers = response.headers_mut();
            quotas.insert_headers(headers);
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(whole_seconds(quotas.retry_after).max(1)),
            );
            Ok(req.into_response(response))
        }
        Decision::InvalidKey(quotas) => {
            tracing::debug!(path = req.path(), "unknown API key");
            let mut response = problem_response(&Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid-api-key",
                "Invalid API key",
                "The X-Api-Key header does not hold a partner key of this registry; check the key, or send no X-Api-Key to use the public quota.",
            ));
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("ApiKey realm=\"envcredit\", header=\"X-Api-Key\""),
            );
            quotas.insert_headers(response.headers_mut());
            Ok(req.into_response(response))
        }
    }
}

/// Paths never counted (already normalised, without a trailing slash).
fn exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics" | "/favicon.ico")
        || path.starts_with("/static/")
}

/// The client's address: the peer, unless the peer is a trusted proxy; then the right-most
/// address of `X-Forwarded-For` (all its fields, in order) that is not a trusted proxy. If the
/// list holds only trusted proxies, the left-most of them; if it holds something that is not an
/// address, the trusted hop to its right (a trusted proxy wrote it; nothing left of it can be
/// believed).
pub fn client_address<'a>(
    peer: IpAddr,
    forwarded_for: impl Iterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    let hops: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).collect();
    for hop in hops.into_iter().rev() {
        let Some(address) = parse_hop(hop.trim()) else {
            break;
        };
        client = address;
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`) or in
/// brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .or_else(|_| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(hop)
                .parse::<IpAddr>()
        })
        .ok()
        .map(|ip| ip.to_canonical())
}

/// What one quota is kept for: an IPv4 address, or an IPv6 /64.
fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(
            u128::from(v6) & 0xffff_ffff_ffff_ffff_0000_0000_0000_0000,
        )),
    }
}

fn quota(per_minute: u32, burst: u32) -> Result<Quota> {
    let zero = || Error::Config("rate_limit: a quota must be at least 1".into());
    let per_minute = NonZeroU32::new(per_minute).ok_or_else(zero)?;
    let burst = NonZeroU32::new(burst).ok_or_else(zero)?;
    // 60 s / per_minute is at least 13 ns for any u32, so the period is never zero.
    let period = Duration::from_nanos(60_000_000_000 / u64::from(per_minute.get()));
    Quota::with_period(period)
        .map(|q| q.allow_burst(burst))
        .ok_or_else(zero)
}

fn per_minute(quota: Quota) -> u128 {
    Duration::from_secs(60).as_nanos() / quota.replenish_interval().as_nanos().max(1)
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Seconds, rounded up: a client waiting this long is never early.
fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| panic!("address {s}"))
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter()
            .map(|s| s.parse().unwrap_or_else(|_| panic!("network {s}")))
            .collect()
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = nets(&["10.0.0.0/8"]);
        let peer = ip("203.0.113.7");
        assert_eq!(
            client_address(peer, ["198.51.100.1"].into_iter(), &trusted),
            peer
        );
        assert_eq!(client_address(peer, std::iter::empty(), &[]), peer);
    }

    #[test]
    fn trusted_proxy_names_the_right_most_untrusted_hop() {
        let trusted = nets(&["10.0.0.0/8", "192.0.2.1/32"]);
        let peer = ip("10.1.2.3");
        // The client forged the first entry; the proxies appended the rest.
        let chain = ["1.1.1.1, 198.51.100.9", "192.0.2.1"];
        assert_eq!(
            client_address(peer, chain.into_iter(), &trusted),
            ip("198.51.100.9")
        );
        assert_eq!(
            client_address(peer, ["198.51.100.9:4711"].into_iter(), &trusted),
            ip("198.51.100.9")
        );
        assert_eq!(
            client_address(peer, ["[2001:db8::1]:443"].into_iter(), &trusted),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn trusted_proxy_without_a_client_in_the_header() {
        let trusted = nets(&["10.0.0.0/8"]);
        let peer = ip("10.1.2.3");
        assert_eq!(client_address(peer, std::iter::empty(), &trusted), peer);
        assert_eq!(
            client_address(peer, ["10.9.9.9"].into_iter(), &trusted),
            ip("10.9.9.9")
        );
        // Garbage stops the walk at the trusted hop to its right.
        assert_eq!(
            client_address(
                peer,
                ["198.51.100.9, unknown, 10.5.5.5"].into_iter(),
                &trusted
            ),
            ip("10.5.5.5")
        );
    }

    #[test]
    fn mapped_addresses_and_ipv6_buckets() {
        let trusted = nets(&["127.0.0.1/32"]);
        assert_eq!(
            client_address(
                ip("::ffff:127.0.0.1"),
                ["198.51.100.9"].into_iter(),
                &trusted
            ),
            ip("198.51.100.9")
        );
        assert_eq!(bucket(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(bucket(ip("198.51.100.9")), ip("198.51.100.9"));
    }

    #[test]
    fn exempt_paths() {
        assert!(exempt("/healthz"));
        assert!(exempt("/static/site.0123.css"));
        assert!(!exempt("/api/v1/institutions"));
        assert!(!exempt("/healthzz"));
        assert!(!exempt("/"));
    }

    #[test]
    fn quotas_and_headers() {
        let q = quota(60, 3).expect("quota");
        assert_eq!(q.burst_size().get(), 3);
        assert_eq!(q.replenish_interval(), Duration::from_secs(1));
        assert_eq!(per_minute(q), 60);
        assert_eq!(whole_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(2)), 2);
        let limited = Quotas::limited(q, Duration::from_millis(400));
        let mut headers = HeaderMap::new();
        limited.insert_headers(&mut headers);
        let get = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        assert_eq!(get("ratelimit-limit").as_deref(), Some("3"));
        assert_eq!(get("ratelimit-remaining").as_deref(), Some("0"));
        assert_eq!(get("ratelimit-reset").as_deref(), Some("3"));
        assert_eq!(get("ratelimit-policy").as_deref(), Some("3;w=3"));
        assert!(quota(0, 1).is_err());
    }
}
