//! Arbitrary bytes as a bundle file, as `envcredit verify` and `envcredit import` read one: the
//! envelope, the key lookup and the signature are what unsigned input reaches. The seeds are the
//! small signed demo bundles, so the accepted path is covered too.
//!
//! Trusted keys: the demo key (from sequence 1) and a retired key (sequences 1 to 4); limits:
//! the defaults. Checked standalone (as `verify --standalone` and the read model at start do)
//! and, once past the signature, against an empty chain (as the first import is).

#![no_main]

use envcredit::bundle::{verify, Limits};
use envcredit_fuzz::{before_signature, check_verdict, trusted};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let standalone = verify(data, trusted(), None, &limits);
    check_verdict(data, &standalone);
    if matches!(&standalone, Err(rejection) if before_signature(rejection)) {
        return;
    }
    let chained = verify(data, trusted(), Some(&[]), &limits);
    check_verdict(data, &chained);
});
