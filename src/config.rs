//! Settings: one TOML file (`--config`), overridden by `ENVCREDIT_*` environment variables,
//! overridden by command-line flags. Every setting has a documented default (docs/operations.md).

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::bundle::envelope::{PublicKey, SigningKey};
use crate::bundle::{Limits, TrustedKey};
use crate::receipt::ReceiptKey;
use crate::{Error, Result};

/// Where the embedded database lives by default (created on first start).
pub const DEFAULT_DATABASE_URL: &str = "data/envcredit.sqlite3";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Environment variables read, as `ENVCREDIT_<KEY>` (nested keys joined by `__`).
const ENV_KEYS: &[&str] = &[
    "listen",
    "database_url",
    "demo",
    "today",
    "log_format",
    "poll_interval_seconds",
    "receipt_key_file",
    "state_file",
    "limits.max_bundle_bytes",
    "limits.max_records",
    "limits.max_record_bytes",
    "rate_limit.enabled",
    "rate_limit.per_minute",
    "rate_limit.burst",
    "rate_limit.trusted_proxies",
    "cache.max_bytes",
    "http.max_body_bytes",
    "http.client_request_timeout_seconds",
    "http.request_timeout_seconds",
    "http.keep_alive_seconds",
    "http.hsts_max_age_seconds",
    "http.access_log",
    "metrics.enabled",
    "metrics.allow",
    "public_base_url",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address of the public listener.
    pub listen: String,
    /// `postgres://…` for PostgreSQL; otherwise a SQLite file path (or `sqlite://PATH`).
    pub database_url: String,
    /// Demo mode: trusts the demo key, imports the shipped demo bundles into an empty store and
    /// labels everything DEMO DATA. On by default only when no configuration file is given.
    pub demo: bool,
    /// Fixes "today" (Asia/Shanghai) instead of reading the clock; for tests and rehearsals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub today: Option<NaiveDate>,
    /// `text` or `json` log lines.
    pub log_format: LogFormat,
    /// How often a serving instance looks for a new revision in the store.
    pub poll_interval_seconds: u64,
    /// Bounds on bundles.
    pub limits: Limits,
    /// The pipeline's public keys and the sequence ranges each may sign.
    pub trusted_keys: Vec<TrustedKeyConfig>,
    /// Requests per client, and per partner key (`crate::web` rate limits).
    pub rate_limit: RateLimitConfig,
    /// The response cache (`crate::web` serves a repeated read from memory).
    pub cache: CacheConfig,
    /// Limits, timeouts and headers of the HTTP listener.
    pub http: HttpConfig,
    /// `/metrics` (Prometheus text format) and who may read it.
    pub metrics: MetricsConfig,
    /// The registry's own receipt signing key (a file holding the base64 32-byte Ed25519 seed, as
    /// `envcredit keygen` writes it; never a pipeline key). Unset: no signed receipts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_key_file: Option<PathBuf>,
    /// Where the high-water mark (last accepted sequence and hash) is kept, outside the
    /// database: a file path, or [`STATE_FILE_NONE`] for none. Unset: beside a SQLite file
    /// (`<database>.state.json`); required for PostgreSQL ([`crate::highwater`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_file: Option<String>,
    /// A high-water mark pinned by the operator (`envcredit checkpoint`), for several instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
    /// The registry's public address, e.g. `https://credit.example.gov.cn` (http or https, a
    /// path prefix allowed, no query): the Atom feed's links are absolute and made from it,
    /// never from a request's Host header (which any client sets). Unset: `http://` + `listen`,
    /// right only when clients reach the listener directly; set it behind a proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_base_url: Option<String>,
    /// Serve or import although the database does not hold its high-water mark, adopting the
    /// database's head as the mark (`--accept-rollback`; never read from a file).
    #[serde(skip)]
    pub accept_rollback: bool,
}

/// The `state_file` value that keeps no state file.
pub const STATE_FILE_NONE: &str = "none";

/// A pinned high-water mark: the database must hold this sequence with exactly this hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub sequence: u64,
    /// Hex SHA-256 of that bundle's payload, as `envcredit checkpoint` prints it.
    pub hash: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// One trusted pipeline key, as written in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedKeyConfig {
    /// A name for logs, e.g. "pipeline-2026".
    pub name: String,
    /// Standard base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    /// First sequence number the key may sign.
    #[serde(default = "one")]
    pub from_seq: u64,
    /// Last sequence number the key may sign; set it to revoke the key from then on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_seq: Option<u64>,
}

fn one() -> u64 {
    1
}

/// Rate limits (GCRA): each client, or each partner key, may send `burst` requests at once and
/// `per_minute` requests a minute on average (docs/operations.md, "Rate limits").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub enabled: bool,
    /// Sustained requests a minute per client address.
    pub per_minute: u32,
    /// Requests a client may send at once, before the sustained rate applies.
    pub burst: u32,
    /// Proxies (addresses or networks, e.g. `10.0.0.0/8`) whose `X-Forwarded-For` names the
    /// client; from any other peer the header is ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Partners sending `X-Api-Key` get a quota of their own.
    #[serde(default)]
    pub partner_keys: Vec<PartnerKeyConfig>,
}

impl Default for RateLimitConfig {
    fn default() -> RateLimitConfig {
        RateLimitConfig {
            enabled: true,
            per_minute: 600,
            burst: 100,
            trusted_proxies: Vec::new(),
            partner_keys: Vec::new(),
        }
    }
}

/// The response cache: finished answers (JSON, CSV and pages) kept in memory by what the ETag is
/// computed from (data revision, day, path, query, languages), so a repeated read costs a lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Most bytes of answers kept (bodies and headers); `0` turns the cache off.
    pub max_bytes: u64,
}

/// 64 MiB: with answers kept gzip-compressed, every institution's JSON and Chinese page of a
/// 10,000-institution registry take about 50 MB of it (docs/performance.md).
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

impl Default for CacheConfig {
    fn default() -> CacheConfig {
        CacheConfig {
            max_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}

/// Limits, timeouts and headers of the public listener (docs/operations.md, "Hardening").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Largest request body accepted (the batch POSTs); a larger one is answered `413` before
    /// it is read.
    pub max_body_bytes: u64,
    /// A client must send the whole request head (line and headers) within this time after
    /// connecting, or the connection is closed (`408`): a slow client cannot hold it open.
    pub client_request_timeout_seconds: u64,
    /// A request body must have arrived within this time (counted from the request head), or
    /// it is answered `408` and the connection closed.
    pub request_timeout_seconds: u64,
    /// How long an idle keep-alive connection is kept open.
    pub keep_alive_seconds: u64,
    /// `Strict-Transport-Security: max-age=N` on every response; set it only behind TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hsts_max_age_seconds: Option<u64>,
    /// One log line per request (method, route, status, duration, request id; no client
    /// address), at `info` under the target `envcredit::access`. Off by default: the balancer
    /// or proxy in front usually logs requests already (it can send its id as `X-Request-Id`),
    /// and on two cores the line costs about a fifth of the throughput of a cached read
    /// (docs/performance.md).
    pub access_log: bool,
}

/// 256 KiB: a batch of 1,000 codes with dates fits in a fifth of it.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 256 * 1024;

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            client_request_timeout_seconds: 5,
            request_timeout_seconds: 30,
            keep_alive_seconds: 5,
            hsts_max_age_seconds: None,
            access_log: false,
        }
    }
}

impl HttpConfig {
    fn validate(&self) -> Result<()> {
        if !(1024..=16 * 1024 * 1024).contains(&self.max_body_bytes) {
            return Err(Error::Config(
                "http.max_body_bytes must be between 1024 and 16777216".into(),
            ));
        }
        for (name, value) in [
            (
                "client_request_timeout_seconds",
                self.client_request_timeout_seconds,
            ),
            ("request_timeout_seconds", self.request_timeout_seconds),
            ("keep_alive_seconds", self.keep_alive_seconds),
        ] {
            if !(1..=3600).contains(&value) {
                return Err(Error::Config(format!(
                    "http.{name} must be between 1 and 3600 seconds"
                )));
            }
        }
        if self.hsts_max_age_seconds == Some(0) {
            return Err(Error::Config(
                "http.hsts_max_age_seconds must be at least 1 (leave it unset for no HSTS header)"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// `/metrics` on the public listener, answered only to peers in `allow` (the connection's
/// address, never a forwarded one); `403` to anyone else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// Addresses or networks that may read `/metrics`; default loopback only.
    pub allow: Vec<String>,
}

impl Default for MetricsConfig {
    fn default() -> MetricsConfig {
        MetricsConfig {
            enabled: true,
            allow: vec!["127.0.0.0/8".into(), "::1".into()],
        }
    }
}

impl MetricsConfig {
    /// The allowed peers as networks: an address alone is a network of one.
    pub fn allowed_networks(&self) -> Result<Vec<IpNet>> {
        networks(&self.allow, "metrics.allow")
    }
}

/// Addresses or networks (`10.0.0.0/8`) as networks; `what` names the setting in errors.
fn networks(entries: &[String], what: &str) -> Result<Vec<IpNet>> {
    entries
        .iter()
        .map(|entry| {
            let entry = entry.trim();
            entry
                .parse::<IpNet>()
                .map(|net| net.trunc())
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    Error::Config(format!(
                        "{what}: {entry:?} is neither an IP address nor a network like 10.0.0.0/8"
                    ))
                })
        })
        .collect()
}

/// The fewest bits a partner key must be able to hold: a key is a secret that an unknown client
/// may try to guess (counted against its quota, but from many addresses), not a name.
pub const MIN_PARTNER_KEY_BITS: u32 = 128;

/// The fewest different characters in a partner key: a random key of the shortest accepted
/// length has about 14 (hex) or 18 (base64url); a key like `aaaa…` or `abababab…` is a
/// placeholder, whatever its length.
const MIN_PARTNER_KEY_DISTINCT_CHARS: usize = 8;

/// Why a partner key is refused, if it is: it is judged by the alphabet it is written in, as a
/// random key of that alphabet would be. Decimal digits hold log2(10) ≈ 3.32 bits a character,
/// hex 4 (so at least 32 characters), base64url or base64 6 (at least 22 characters; `=`
/// padding holds nothing). Any other character is refused, so that a key never holds a space,
/// a quote or a non-ASCII letter that one side may encode differently from the other.
pub fn partner_key_weakness(key: &str) -> Option<String> {
    const FORMATS: &str = "a partner key must be random hex (at least 32 characters) or base64url/base64 (at least 22 characters), e.g. the output of `openssl rand -hex 16` or `openssl rand -base64 24`";
    let body = key.trim_end_matches('=');
    let base64 = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/');
    if body.is_empty() || !body.bytes().all(base64) {
        return Some(format!(
            "it holds characters other than A-Z a-z 0-9 - _ + / (and trailing =); {FORMATS}"
        ));
    }
    // Hundredths of a bit per character, to stay in integers.
    let centibits_per_char: u64 = if body.bytes().all(|b| b.is_ascii_digit()) {
        332
    } else if body.bytes().all(|b| b.is_ascii_hexdigit()) {
        400
    } else {
        600
    };
    let bits = body.len() as u64 * centibits_per_char / 100;
    if bits < u64::from(MIN_PARTNER_KEY_BITS) {
        return Some(format!(
            "it holds about {bits} bits, fewer than {MIN_PARTNER_KEY_BITS}; {FORMATS}"
        ));
    }
    let mut distinct: Vec<u8> = body.bytes().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < MIN_PARTNER_KEY_DISTINCT_CHARS {
        return Some(format!(
            "it uses only {} different characters, which no random key does; {FORMATS}",
            distinct.len()
        ));
    }
    None
}

/// One partner's key and quota. The key never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerKeyConfig {
    /// A name for logs, e.g. "procurement-platform".
    pub name: String,
    /// The secret the partner sends in `X-Api-Key`.
    pub key: String,
    pub per_minute: u32,
    pub burst: u32,
}

impl fmt::Debug for PartnerKeyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartnerKeyConfig")
            .field("name", &self.name)
            .field("key", &"***")
            .field("per_minute", &self.per_minute)
            .field("burst", &self.burst)
            .finish()
    }
}

impl RateLimitConfig {
    /// The trusted proxies as networks: an address alone is a network of one.
    pub fn trusted_networks(&self) -> Result<Vec<IpNet>> {
        networks(&self.trusted_proxies, "rate_limit.trusted_proxies")
    }

    /// Refuses a zero quota, a bad proxy address, and a partner key that is weak (see
    /// [`partner_key_weakness`]), unnamed or listed twice. Errors name the key by its position
    /// and name, never by its value.
    pub fn validate(&self) -> Result<()> {
        if self.per_minute == 0 || self.burst == 0 {
            return Err(Error::Config(
                "rate_limit: per_minute and burst must be at least 1 (set enabled = false to turn rate limits off)".into(),
            ));
        }
        self.trusted_networks()?;
        for (i, partner) in self.partner_keys.iter().enumerate() {
            if partner.name.trim().is_empty() {
                return Err(Error::Config(format!(
                    "rate_limit.partner_keys[{i}]: the name is empty"
                )));
            }
            if partner.per_minute == 0 || partner.burst == 0 {
                return Err(Error::Config(format!(
                    "rate_limit partner key {:?}: per_minute and burst must be at least 1",
                    partner.name
                )));
            }
            if let Some(weakness) = partner_key_weakness(&partner.key) {
                return Err(Error::Config(format!(
                    "rate_limit.partner_keys[{i}] ({:?}): the key is refused: {weakness}",
                    partner.name
                )));
            }
            let earlier = &self.partner_keys[..i];
            if earlier.iter().any(|p| p.key == partner.key) {
                return Err(Error::Config(format!(
                    "rate_limit partner key {:?}: the same key is already given to another partner",
                    partner.name
                )));
            }
            if earlier.iter().any(|p| p.name == partner.name) {
                return Err(Error::Config(format!(
                    "rate_limit partner key {:?}: the name is listed twice",
                    partner.name
                )));
            }
        }
        Ok(())
    }
}

impl Config {
    /// The defaults; `demo` is on when there is no configuration file.
    pub fn defaults(demo: bool) -> Config {
        Config {
            listen: DEFAULT_LISTEN.to_string(),
            database_url: DEFAULT_DATABASE_URL.to_string(),
            demo,
            today: None,
            log_format: LogFormat::Text,
            poll_interval_seconds: 2,
            limits: Limits::default(),
            trusted_keys: Vec::new(),
            rate_limit: RateLimitConfig::default(),
            cache: CacheConfig::default(),
            http: HttpConfig::default(),
            metrics: MetricsConfig::default(),
            receipt_key_file: None,
            state_file: None,
            checkpoint: None,
            public_base_url: None,
            accept_rollback: false,
        }
    }

    /// The public address links are made from, without a trailing slash (see
    /// `public_base_url`).
    pub fn public_base(&self) -> String {
        match &self.public_base_url {
            Some(base) => base.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }

    /// Defaults, then the file (if any), then the environment. `demo_by_default` is whether
    /// demo mode is the default: the command line asks for it only to serve without a
    /// configuration file, never to import or verify (a production store must not be fed a
    /// bundle signed with the public demo key by a forgotten `--config`).
    pub fn load(file: Option<&Path>, demo_by_default: bool) -> Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::defaults(demo_by_default)));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(Error::Config(format!(
                    "configuration file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed("ENVCREDIT_").split("__").only(ENV_KEYS));
        let config: Config = figment
            .extract()
            .map_err(|e| Error::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        let keys = self.trusted_keys()?;
        let demo_id = demo_signing_key().public_key().key_id();
        if !self.demo && keys.iter().any(|k| k.key.key_id() == demo_id) {
            return Err(Error::Config(
                "the demo key is trusted only in demo mode".to_string(),
            ));
        }
        if self.demo && !self.trusted_keys.is_empty() {
            return Err(Error::Config(
                "demo mode trusts only the demo key: remove trusted_keys or set demo = false"
                    .to_string(),
            ));
        }
        if let Some(checkpoint) = &self.checkpoint {
            let hex_ok = checkpoint.hash.len() == 64
                && checkpoint
                    .hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if checkpoint.sequence == 0 || !hex_ok {
                return Err(Error::Config(
                    "checkpoint needs sequence >= 1 and hash = 64 lowercase hex digits (as `envcredit checkpoint` prints it)"
                        .into(),
                ));
            }
        }
        if self
            .state_file
            .as_deref()
            .is_some_and(|f| f.trim().is_empty())
        {
            return Err(Error::Config(format!(
                "state_file is empty: give a path, or \"{STATE_FILE_NONE}\" to keep none"
            )));
        }
        if self.demo && self.receipt_key_file.is_some() {
            return Err(Error::Config(
                "demo mode signs receipts only with the demo receipt key: remove receipt_key_file or set demo = false"
                    .to_string(),
            ));
        }
        if self.poll_interval_seconds == 0 {
            return Err(Error::Config(
                "poll_interval_seconds must be at least 1".into(),
            ));
        }
        self.rate_limit.validate()?;
        self.http.validate()?;
        self.metrics.allowed_networks()?;
        if let Some(base) = &self.public_base_url {
            // No URL parser in the build for this one check: a scheme, a host, and nothing that
            // would let a link carry a query, fragment or credentials.
            let rest = base
                .strip_prefix("https://")
                .or_else(|| base.strip_prefix("http://"));
            let ok = rest.is_some_and(|rest| {
                !rest.is_empty()
                    && !rest.starts_with('/')
                    && !rest
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control() || "?#@\\\"<>".contains(c))
            });
            if !ok {
                return Err(Error::Config(format!(
                    "public_base_url must be an http or https URL with a host and no query, e.g. \"https://credit.example.gov.cn\", found {base:?}"
                )));
            }
        }
        Ok(())
    }

    /// The keys bundles are verified against: the configured ones, or in demo mode only the
    /// demo key.
    pub fn trusted_keys(&self) -> Result<Vec<TrustedKey>> {
        let mut keys = Vec::with_capacity(self.trusted_keys.len() + 1);
        for k in &self.trusted_keys {
            let key = PublicKey::parse(&k.public_key)
                .map_err(|e| Error::Config(format!("trusted key {:?}: {e}", k.name)))?;
            if k.from_seq == 0 || k.until_seq.is_some_and(|until| until < k.from_seq) {
                return Err(Error::Config(format!(
                    "trusted key {:?}: the range {}..{:?} is empty or starts at 0",
                    k.name, k.from_seq, k.until_seq
                )));
            }
            if keys
                .iter()
                .any(|t: &TrustedKey| t.key.key_id() == key.key_id())
            {
                return Err(Error::Config(format!(
                    "trusted key {:?} is listed twice; give each key one entry with one sequence range",
                    k.name
                )));
            }
            keys.push(TrustedKey {
                name: k.name.clone(),
                key,
                from_seq: k.from_seq,
                until_seq: k.until_seq,
            });
        }
        if self.demo {
            keys.push(TrustedKey {
                name: "demo".to_string(),
                key: demo_signing_key().public_key(),
                from_seq: 1,
                until_seq: None,
            });
        }
        Ok(keys)
    }
}

impl Config {
    /// The key receipts are signed with: in demo mode the public demo receipt key, else the one
    /// in `receipt_key_file` (refused if it is the demo receipt key or a trusted pipeline key),
    /// else none.
    pub fn receipt_key(&self) -> Result<Option<ReceiptKey>> {
        if self.demo {
            return Ok(Some(ReceiptKey::demo()));
        }
        let Some(path) = &self.receipt_key_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("cannot read receipt key {}", path.display()), e))?;
        let key = ReceiptKey::from_seed_base64(&text)
            .map_err(|e| Error::Config(format!("receipt key {}: {e}", path.display())))?;
        let id = key.public_key().key_id();
        if ReceiptKey::demo().public_key().key_id() == id {
            return Err(Error::Config(
                "the demo receipt key signs only in demo mode".to_string(),
            ));
        }
        if self.trusted_keys()?.iter().any(|k| k.key.key_id() == id) {
            return Err(Error::Config(
                "the receipt key must be the registry's own, not a trusted pipeline key"
                    .to_string(),
            ));
        }
        Ok(Some(key))
    }
}

/// What stands for a secret in printed settings.
pub const MASK: &str = "***";

impl Config {
    /// The effective settings as TOML, as `envcredit config check` prints them: the password
    /// in `database_url` and every partner key replaced by `***`. (The receipt key is a file
    /// name here; its content is never read into the settings.)
    pub fn to_masked_toml(&self) -> Result<String> {
        let mut masked = self.clone();
        masked.database_url = mask_url_password(&masked.database_url);
        for partner in &mut masked.rate_limit.partner_keys {
            partner.key = MASK.to_string();
        }
        toml::to_string(&masked).map_err(|e| Error::Internal(format!("settings as TOML: {e}")))
    }
}

/// A database URL with its password (`user:password@`, or a `password=` parameter) masked.
fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:{MASK}@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let query = query.map(|query| {
        query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                    format!("{name}={MASK}")
                }
                _ => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    match query {
        Some(query) => format!("{scheme}://{authority}{path}?{query}"),
        None => format!("{scheme}://{authority}{path}"),
    }
}

/// The demo key. Its secret is public by design (it is derived from a fixed string), which is why
/// it is trusted only in demo mode and everything it signed is labelled DEMO DATA.
pub fn demo_signing_key() -> SigningKey {
    use sha2::{Digest, Sha256};
    let seed: [u8; 32] =
        Sha256::digest(b"envcredit demo key v1: public on purpose, trusted only in demo mode")
            .into();
    SigningKey::from_seed(&seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_database_urls_are_masked() {
        for (url, masked) in [
            (
                "postgres://registry:s3cr%40t@db.internal:5432/envcredit",
                "postgres://registry:***@db.internal:5432/envcredit",
            ),
            (
                "postgresql://registry@db/envcredit?sslmode=require&password=hunter2",
                "postgresql://registry@db/envcredit?sslmode=require&password=***",
            ),
            ("postgres://db/envcredit", "postgres://db/envcredit"),
            ("data/envcredit.sqlite3", "data/envcredit.sqlite3"),
        ] {
            assert_eq!(mask_url_password(url), masked, "{url}");
        }
    }

    #[test]
    fn partner_keys_need_128_bits() {
        for key in [
            "0123456789abcdef0123456789abcdef",
            "3q2-7_wAAAAA9kLmNoPqRs",
            "3q2+7/wAAAAA9kLmNoPqRsTu==",
            "partner-key-0123456789",
            "012345678901234567890123456789012345678",
        ] {
            assert_eq!(partner_key_weakness(key), None, "{key}");
        }
        for (key, why) in [
            ("0123456789abcdef0123456789abcde", "about 124 bits"),
            ("3q2-7_wAAAAA9kLmNoPqR", "about 126 bits"),
            ("01234567890123456789012345678901234567", "about 126 bits"),
            (
                "partner key with spaces 0123456789",
                "characters other than",
            ),
            ("ключ-0123456789abcdef0123456789", "characters other than"),
            ("", "characters other than"),
            ("========================", "characters other than"),
            (
                "abababababababababababababababab",
                "only 2 different characters",
            ),
        ] {
            let weakness = partner_key_weakness(key).unwrap_or_default();
            assert!(weakness.contains(why), "{key}: {weakness}");
            assert!(key.is_empty() || !weakness.contains(key), "{weakness}");
        }
    }

    #[test]
    fn printed_settings_hold_no_secret() {
        let mut config = Config::defaults(false);
        config.database_url = "postgres://u:topsecretpw@h/db".into();
        config.rate_limit.partner_keys.push(PartnerKeyConfig {
            name: "platform".into(),
            key: "partner-key-0123456789".into(),
            per_minute: 60,
            burst: 10,
        });
        let text = config.to_masked_toml().unwrap();
        assert!(!text.contains("topsecretpw"), "{text}");
        assert!(!text.contains("partner-key-0123456789"), "{text}");
        assert!(text.contains("name = \"platform\""), "{text}");
        // What is printed is itself a configuration file that loads (with the secrets masked).
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back.http, config.http);
        assert_eq!(back.metrics, config.metrics);
    }

    #[test]
    fn http_limits_are_bounded() {
        let mut config = Config::defaults(false);
        config.http.max_body_bytes = 10;
        assert!(matches!(config.validate(), Err(Error::Config(m)) if m.contains("max_body_bytes")));
        config.http = HttpConfig {
            client_request_timeout_seconds: 0,
            ..HttpConfig::default()
        };
        assert!(
            matches!(config.validate(), Err(Error::Config(m)) if m.contains("client_request_timeout_seconds"))
        );
        config.http = HttpConfig::default();
        config.metrics.allow = vec!["not-a-network".into()];
        assert!(matches!(config.validate(), Err(Error::Config(m)) if m.contains("metrics.allow")));
    }

    #[test]
    fn public_base_url_is_an_address_without_query() {
        let mut config = Config::defaults(false);
        assert_eq!(config.public_base(), "http://127.0.0.1:8080");
        config.public_base_url = Some("https://credit.example.gov.cn/registry/".into());
        assert!(config.validate().is_ok());
        assert_eq!(
            config.public_base(),
            "https://credit.example.gov.cn/registry"
        );
        for bad in [
            "credit.example.gov.cn",
            "ftp://x",
            "https://",
            "https://x/?a=1",
            "https://u@x",
        ] {
            config.public_base_url = Some(bad.into());
            assert!(
                matches!(config.validate(), Err(Error::Config(m)) if m.contains("public_base_url")),
                "{bad}"
            );
        }
    }
}
