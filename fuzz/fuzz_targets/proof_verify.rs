//! Arbitrary bytes as a record proof file and as a chain of signed manifests, as
//! `envcredit verify-proof` reads them (the proof, and `--chain`). Only the manifest inside a
//! proof is signed: the leaf index, the audit path and the record are not, so mutations of the
//! seeds (proofs of demo records) reach the Merkle inclusion check and the record parse.

#![no_main]

use envcredit::bundle::manifest::Dataset;
use envcredit::bundle::merkle;
use envcredit::bundle::proof;
use envcredit::bundle::proof::VerifiedProof;
use envcredit::bundle::Rejection;
use envcredit_fuzz::{check_rejection, show, trusted};
use libfuzzer_sys::fuzz_target;

fn show_proof(verdict: Result<VerifiedProof, Rejection>) -> Result<VerifiedProof, Rejection> {
    show(
        "proof",
        &verdict.as_ref().map(|v| (v.manifest.dataset, v.leaf_index)),
    );
    verdict
}

fuzz_target!(|data: &[u8]| {
    for key in trusted() {
        match proof::parse(data) {
            Ok(parsed) => match show_proof(proof::verify(&parsed, &key.key, None, None)) {
                Ok(verified) => {
                    // Verified: the record is at its index under the signed root, and what the
                    // proof proves is what the caller may then ask for.
                    assert!(verified.leaf_index < verified.manifest.record_count);
                    assert_eq!(verified.key_id, key.key.key_id());
                    let code = verified.record.code().to_string();
                    let year = verified.manifest.dataset.year();
                    let again = proof::verify(&parsed, &key.key, Some(&code), year)
                        .unwrap_or_else(|e| panic!("verified, then not for its own code: {e}"));
                    assert_eq!(again, verified);
                    let path: Vec<merkle::Hash> = parsed
                        .audit_path
                        .iter()
                        .map(|h| {
                            let mut hash = [0u8; 32];
                            for (i, byte) in hash.iter_mut().enumerate() {
                                *byte = u8::from_str_radix(&h[2 * i..2 * i + 2], 16)
                                    .expect("a verified path is hex");
                            }
                            hash
                        })
                        .collect();
                    assert_eq!(
                        merkle::verify_inclusion(
                            &merkle::leaf_hash(&verified.record_bytes),
                            verified.leaf_index,
                            verified.manifest.record_count,
                            &path,
                            &verified.manifest.merkle_root,
                        ),
                        Ok(())
                    );
                }
                Err(rejection) => check_rejection(&rejection),
            },
            Err(rejection) => check_rejection(&rejection),
        }
        for dataset in [Dataset::Violations, Dataset::Evaluation(2024)] {
            match proof::latest_in_chain(data, &key.key, dataset) {
                Ok(found) => show("chain", &found),
                Err(rejection) => check_rejection(&rejection),
            }
        }
    }
});
