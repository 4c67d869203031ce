//! The response cache: finished `200` answers to data-keyed `GET`s (the API under `/api/v1/` and
//! the pages), kept in memory by the digest the ETag is made from ([`super::http`]).
//!
//! That digest covers everything an answer depends on: the build, the data revision (sequence,
//! payload hash, the store head the view was built from, what the view withholds), "today" in
//! Asia/Shanghai, the path, the raw query and, for a page, the language negotiated from
//! `Accept-Language` (no header changes an API answer). So an entry can only ever be served for an
//! answer to the very same request, at the very revision it was made from: a new revision gives new keys,
//! and nothing cached at the old one can answer (the cache is also emptied when the revision
//! changes, to free the memory at once). Answers are rendered only from the verified read model,
//! which is swapped whole after re-verification, so what is cached was verified when it was made.
//!
//! Not cached: errors, receipts (they carry the instant they were issued), `POST`s, and an answer
//! whose view or day changed while it was being made. Headers added outside the conditional
//! middleware (CORS, security headers, rate-limit headers) are added afresh to every answer.

use std::io::{Read, Write};

use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

/// The cache key: the SHA-256 the ETag is cut from.
pub type Key = [u8; 32];

/// One finished answer. The body is kept gzip-compressed when that makes it smaller (pages,
/// JSON and CSV shrink to a quarter or less), which is how most clients take it; a client that
/// does not accept gzip gets it decompressed: far cheaper than rendering a page again, about as
/// dear as making one institution's JSON again (docs/performance.md).
#[derive(Debug)]
pub struct Cached {
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    gzip: bool,
}

impl Cached {
    /// Compresses the answer if that makes it smaller.
    fn new(headers: &HeaderMap, body: Bytes) -> Cached {
        let headers = headers
            .iter()
            .filter(|(name, _)| *name != header::ETAG)
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        let compressed = gzip(&body).filter(|gz| gz.len() < body.len());
        match compressed {
            Some(gz) => Cached {
                headers,
                body: Bytes::from(gz),
                gzip: true,
            },
            None => Cached {
                headers,
                body,
                gzip: false,
            },
        }
    }

    /// Whether the body is kept gzip-compressed (and so is sent so to clients that accept it).
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// The answer again (status `200`), with `etag`: gzip-coded if kept so and the client
    /// accepts it, else as it was made.
    pub fn response(&self, accepts_gzip: bool, etag: &str) -> HttpResponse {
        let (body, coded) = if self.gzip && !accepts_gzip {
            match gunzip(&self.body) {
                Some(plain) => (Bytes::from(plain), false),
                None => {
                    tracing::error!("a cached answer does not decompress");
                    return HttpResponse::InternalServerError()
                        .insert_header((header::CACHE_CONTROL, super::http::ERROR_CACHE_CONTROL))
                        .finish();
                }
            }
        } else {
            (self.body.clone(), self.gzip)
        };
        let mut response = HttpResponse::with_body(StatusCode::OK, body);
        let headers = response.headers_mut();
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        if coded {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        if let Ok(etag) = HeaderValue::from_str(etag) {
            headers.insert(header::ETAG, etag);
        }
        response.map_into_boxed_body()
    }

    /// Bytes it holds, roughly: body, header names and values, and a fixed overhead per entry.
    fn weight(&self) -> u32 {
        let headers: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 32)
            .sum();
        u32::try_from(self.body.len() + headers + 128).unwrap_or(u32::MAX)
    }
}

fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    // Level 6 (the default) is a good trade: an answer is compressed once and sent many times.
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 3), Compression::default());
    encoder.write_all(bytes).ok()?;
    let mut compressed = encoder.finish().ok()?;
    // Kept for long: no spare capacity from the buffer's growth.
    compressed.shrink_to_fit();
    Some(compressed)
}

fn gunzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut plain = Vec::with_capacity(bytes.len() * 4);
    GzDecoder::new(bytes).read_to_end(&mut plain).ok()?;
    Some(plain)
}

/// Whether `Accept-Encoding` accepts gzip (`gzip`, `x-gzip` or `*`, with a non-zero q).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let q_zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            !q_zero
                && (coding.eq_ignore_ascii_case("gzip")
                    || coding.eq_ignore_ascii_case("x-gzip")
                    || coding == "*")
        })
}

/// Finished answers by key, bounded in bytes.
pub struct ResponseCache {
    entries: Option<moka::sync::Cache<Key, std::sync::Arc<Cached>>>,
    max_entry_bytes: usize,
}

impl ResponseCache {
    /// A cache of at most `max_bytes` (`0`: none). An answer larger than an eighth of the cache
    /// is not kept, so one large CSV cannot push out everything else.
    pub fn new(max_bytes: u64) -> ResponseCache {
        let entries = (max_bytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_key: &Key, value: &std::sync::Arc<Cached>| value.weight())
                .build()
        });
        ResponseCache {
            entries,
            max_entry_bytes: usize::try_from(max_bytes / 8).unwrap_or(usize::MAX),
        }
    }

    pub fn get(&self, key: &Key) -> Option<std::sync::Arc<Cached>> {
        self.entries.as_ref()?.get(key)
    }

    /// Keeps an answer's headers (but its ETag) and body, compressed if that helps; returns
    /// it, to be sent as a hit would be. `None` when the cache is off.
    pub fn insert(
        &self,
        key: Key,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Option<std::sync::Arc<Cached>> {
        let entries = self.entries.as_ref()?;
        let cached = std::sync::Arc::new(Cached::new(headers, body));
        if cached.body.len() <= self.max_entry_bytes {
            entries.insert(key, cached.clone());
        }
        Some(cached)
    }

    /// Drops everything (a new revision is being served).
    pub fn clear(&self) {
        if let Some(entries) = &self.entries {
            entries.invalidate_all();
        }
    }

    pub fn enabled(&self) -> bool {
        self.entries.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.append(header::VARY, HeaderValue::from_static("accept-language"));
        headers.insert(header::ETAG, HeaderValue::from_static("\"1-old\""));
        headers
    }

    fn body(response: HttpResponse) -> Bytes {
        response.into_body().try_into_bytes().ok().unwrap()
    }

    #[test]
    fn an_answer_comes_back_whole_compressed_or_not() {
        let cache = ResponseCache::new(1 << 20);
        let json = Bytes::from(format!("[{}]", vec!["{\"grade\":\"A\"}"; 200].join(",")));
        cache.insert([1; 32], &headers(), json.clone());
        let hit = cache.get(&[1; 32]).expect("cached");
        assert!(hit.is_gzip(), "a repetitive body is kept compressed");

        let plain = hit.response(false, "\"1-x\"");
        assert_eq!(plain.status(), StatusCode::OK);
        assert_eq!(
            plain.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/json"
        );
        assert_eq!(plain.headers().get(header::ETAG).unwrap(), "\"1-x\"");
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(body(plain), json);

        let coded = hit.response(true, "\"1-x-gzip\"");
        assert_eq!(
            coded.headers().get(header::CONTENT_ENCODING).unwrap(),
            "gzip"
        );
        assert_eq!(coded.headers().get(header::ETAG).unwrap(), "\"1-x-gzip\"");
        let coded = body(coded);
        assert!(coded.len() < json.len());
        assert_eq!(gunzip(&coded).unwrap(), json);

        assert!(cache.get(&[2; 32]).is_none());
        cache.clear();
        assert!(cache.get(&[1; 32]).is_none());
    }

    #[test]
    fn a_body_that_does_not_shrink_is_kept_as_it_is() {
        let cache = ResponseCache::new(1 << 20);
        cache.insert([1; 32], &headers(), Bytes::from_static(b"{}"));
        let hit = cache.get(&[1; 32]).unwrap();
        assert!(!hit.is_gzip());
        let response = hit.response(true, "\"1-x\"");
        assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(body(response), Bytes::from_static(b"{}"));
    }

    #[test]
    fn off_keeps_nothing_and_large_answers_are_not_kept() {
        let off = ResponseCache::new(0);
        assert!(!off.enabled());
        assert!(off
            .insert([1; 32], &headers(), Bytes::from_static(b"x"))
            .is_none());
        assert!(off.get(&[1; 32]).is_none());

        let small = ResponseCache::new(8 * 1024);
        // Random-looking bytes do not compress: over an eighth of the cache, not kept.
        let noise: Vec<u8> = (0..40u32)
            .flat_map(|i| <sha2::Sha256 as sha2::Digest>::digest(i.to_be_bytes()))
            .collect();
        assert!(small
            .insert([1; 32], &headers(), Bytes::from(noise))
            .is_some());
        assert!(small.get(&[1; 32]).is_none(), "over an eighth of the cache");
        small.insert([2; 32], &headers(), Bytes::from(vec![b'x'; 1000]));
        assert!(small.get(&[2; 32]).is_some());
    }

    #[test]
    fn accept_encoding() {
        let accepts = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
            accepts_gzip(&headers)
        };
        assert!(accepts("gzip"));
        assert!(accepts("gzip, deflate, br, zstd"));
        assert!(accepts("br;q=1.0, GZIP;q=0.5"));
        assert!(accepts("*"));
        assert!(!accepts("identity"));
        assert!(!accepts("br"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("gzip; q=0.0, identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
