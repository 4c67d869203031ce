//! RFC 6962 / RFC 9162 Merkle tree over the records of a bundle.
//!
//! Leaves and interior nodes are hashed with distinct one-byte prefixes (0x00 and 0x01) so that a
//! leaf can never be passed off as an interior node (second-preimage resistance, RFC 9162 §2.1.1).
//! The tree shape is the RFC one: the left subtree of an `n`-leaf tree holds the largest power of
//! two strictly smaller than `n` leaves. Building it bottom-up, pairing neighbours and carrying an
//! odd last node up unchanged, gives exactly that shape in linear time.

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Domain-separation prefix of leaf hashes (RFC 9162 §2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of interior node hashes (RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

/// Why an inclusion proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The claimed leaf index does not exist in a tree of the claimed size.
    #[error("leaf index {index} is out of range for a tree of {tree_size} leaves")]
    IndexOutOfRange {
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        tree_size: u64,
    },
    /// The audit path has more hashes than the tree of this size and index can use.
    #[error("inclusion proof has more hashes than this tree size and index allow")]
    PathTooLong,
    /// The audit path ends before reaching the root.
    #[error("inclusion proof has fewer hashes than this tree size and index require")]
    PathTooShort,
    /// The audit path is well formed but leads to a different root.
    #[error("inclusion proof does not lead to the expected Merkle root")]
    RootMismatch,
}

/// Hash of one record as a leaf: SHA-256(0x00 ‖ record).
pub fn leaf_hash(record: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(record);
    h.finalize().into()
}

/// Hash of an interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The Merkle Tree Hash (MTH) of already-hashed leaves (see [`leaf_hash`]).
///
/// The empty tree hashes to SHA-256 of the empty string; a one-leaf tree to that leaf's hash.
/// Runs in O(n) time with one O(n) buffer.
pub fn root(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return Sha256::digest([]).into();
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = next_level(&level);
    }
    // The loop leaves exactly one element; the fallback is unreachable but avoids a panic path.
    level.first().copied().unwrap_or_default()
}

/// Hashes one level of the tree into the level above it; an odd last node moves up unchanged,
/// which is what the RFC's "largest power of two" split amounts to when built bottom-up.
fn next_level(level: &[Hash]) -> Vec<Hash> {
    level
        .chunks(2)
        .map(|pair| match pair {
            [left, right] => node_hash(left, right),
            [single] => *single,
            // chunks(2) never yields an empty or longer slice.
            _ => Hash::default(),
        })
        .collect()
}

/// The audit path `PATH(index, leaves)` of RFC 9162 §2.1.3.1, ordered from the leaf's sibling up
/// to the child of the root. `None` when `index >= leaves.len()`.
///
/// Costs O(n); to prove many leaves of the same tree use [`MerkleTree`].
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    MerkleTree::new(leaves).inclusion_proof(index)
}

/// Verifies that `leaf` (a [`leaf_hash`]) sits at `index` in the tree of `tree_size` leaves whose
/// root is `root`, following RFC 9162 §2.1.3.2 step by step.
///
/// The loop runs at most 64 times whatever the length of `proof`, because each step halves `sn`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    // fn_ walks the leaf's position up the tree, sn the position of the last node of each level.
    let mut fn_ = index;
    let mut sn = tree_size - 1;
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::PathTooLong);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                // A last node without a right sibling is carried up unchanged: skip those levels.
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::PathTooShort);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// A fully materialised tree, for serving many inclusion proofs of one bundle without rehashing.
///
/// Holds about 2n hashes (64 bytes per leaf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleTree {
    /// `levels[0]` are the leaf hashes, each next level the one above; the last holds the root.
    /// Empty for an empty tree.
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// Builds every level of the tree over already-hashed leaves.
    pub fn new(leaves: &[Hash]) -> Self {
        let mut levels = Vec::new();
        if !leaves.is_empty() {
            let mut level = leaves.to_vec();
            while level.len() > 1 {
                let up = next_level(&level);
                levels.push(level);
                level = up;
            }
            levels.push(level);
        }
        MerkleTree { levels }
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.levels.first().map_or(0, Vec::len)
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The Merkle Tree Hash; equal to [`root`] over the same leaves.
    pub fn root(&self) -> Hash {
        match self.levels.last().and_then(|l| l.first()) {
            Some(h) => *h,
            None => Sha256::digest([]).into(),
        }
    }

    /// The audit path of the leaf at `index`, as [`inclusion_proof`]; `None` when out of range.
    pub fn inclusion_proof(&self, index: usize) -> Option<Vec<Hash>> {
        if index >= self.len() {
            return None;
        }
        let mut path = Vec::new();
        let mut i = index;
        // The top level is the root itself and contributes no sibling.
        for level in self.levels.iter().take(self.levels.len().saturating_sub(1)) {
            // A node with no right neighbour is carried up unchanged and contributes nothing.
            if let Some(sibling) = level.get(i ^ 1) {
                path.push(*sibling);
            }
            i >>= 1;
        }
        Some(path)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn h(data: &[u8]) -> Hash {
        Sha256::digest(data).into()
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("record {i}").as_bytes()))
            .collect()
    }

    /// RFC 6962 §2.1 MTH, written recursively and literally as a reference.
    fn mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => h(b""),
            1 => d[0],
            n => {
                let k = split(n);
                node_hash(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }

    /// RFC 6962 §2.1.1 PATH(m, D[n]), written recursively and literally as a reference.
    fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
        let n = d.len();
        if n <= 1 {
            return Vec::new();
        }
        let k = split(n);
        if m < k {
            let mut p = path(m, &d[..k]);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = path(m - k, &d[k..]);
            p.push(mth(&d[..k]));
            p
        }
    }

    /// Largest power of two strictly smaller than n (n >= 2).
    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    #[test]
    fn leaf_and_node_hash_are_domain_separated() {
        // SHA-256(0x00) and SHA-256(0x01 || 0^64), checked against the standard digest.
        let mut leaf_input = vec![0u8];
        leaf_input.extend_from_slice(b"abc");
        assert_eq!(leaf_hash(b"abc"), h(&leaf_input));
        assert_ne!(leaf_hash(b"abc"), h(b"abc"));
        let a = [0xaa; 32];
        let b = [0xbb; 32];
        let mut node_input = vec![1u8];
        node_input.extend_from_slice(&a);
        node_input.extend_from_slice(&b);
        assert_eq!(node_hash(&a, &b), h(&node_input));
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
        // Empty leaf: a well-known constant.
        assert_eq!(
            hex::encode(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn empty_tree_is_hash_of_empty_string() {
        assert_eq!(
            hex::encode(root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(MerkleTree::new(&[]).root(), root(&[]));
        assert!(MerkleTree::new(&[]).is_empty());
    }

    #[test]
    fn known_small_trees_by_hand() {
        let l: Vec<Hash> = (0..8u8).map(|i| leaf_hash(&[i])).collect();
        let n = |a: &Hash, b: &Hash| node_hash(a, b);

        // 1 leaf: the leaf hash itself.
        assert_eq!(root(&l[..1]), l[0]);
        // 2 leaves.
        assert_eq!(root(&l[..2]), n(&l[0], &l[1]));
        // 3 leaves: split 2 | 1.
        assert_eq!(root(&l[..3]), n(&n(&l[0], &l[1]), &l[2]));
        // 5 leaves: split 4 | 1.
        let four = n(&n(&l[0], &l[1]), &n(&l[2], &l[3]));
        assert_eq!(root(&l[..5]), n(&four, &l[4]));
        // 7 leaves: split 4 | 3, and the 3 splits 2 | 1.
        let right3 = n(&n(&l[4], &l[5]), &l[6]);
        assert_eq!(root(&l[..7]), n(&four, &right3));
        // 8 leaves: perfect tree.
        let right4 = n(&n(&l[4], &l[5]), &n(&l[6], &l[7]));
        assert_eq!(root(&l[..8]), n(&four, &right4));
    }

    #[test]
    fn three_leaf_worked_example_for_docs() {
        // The example printed in docs/bundle-format.md ("## Merkle tree").
        let l: Vec<Hash> = [b"a", b"b", b"c"].iter().map(|r| leaf_hash(*r)).collect();
        assert_eq!(
            hex::encode(l[0]),
            "022a6979e6dab7aa5ae4c3e5e45f7e977112a7e63593820dbec1ec738a24f93c"
        );
        assert_eq!(
            hex::encode(l[1]),
            "57eb35615d47f34ec714cacdf5fd74608a5e8e102724e80b24b287c0c27b6a31"
        );
        assert_eq!(
            hex::encode(l[2]),
            "597fcb31282d34654c200d3418fca5705c648ebf326ec73d8ddef11841f876d8"
        );
        let ab = node_hash(&l[0], &l[1]);
        assert_eq!(
            hex::encode(ab),
            "b137985ff484fb600db93107c77b0365c80d78f5b429ded0fd97361d077999eb"
        );
        let r = root(&l);
        assert_eq!(r, node_hash(&ab, &l[2]));
        assert_eq!(
            hex::encode(r),
            "36642e73c2540ab121e3a6bf9545b0a24982cd830eb13d3cd19de3ce6c021ec1"
        );
        // Proof for "c" (index 2) is just [H(ab)]; for "a" (index 0) it is [leaf(b), leaf(c)].
        assert_eq!(inclusion_proof(&l, 2), Some(vec![ab]));
        assert_eq!(inclusion_proof(&l, 0), Some(vec![l[1], l[2]]));
        assert_eq!(inclusion_proof(&l, 1), Some(vec![l[0], l[2]]));
    }

    #[test]
    fn root_and_path_match_recursive_reference() {
        for n in 0..=70 {
            let l = leaves(n);
            let tree = MerkleTree::new(&l);
            assert_eq!(root(&l), mth(&l), "root, size {n}");
            assert_eq!(tree.root(), mth(&l), "tree root, size {n}");
            assert_eq!(tree.len(), n);
            for m in 0..n {
                assert_eq!(
                    inclusion_proof(&l, m),
                    Some(path(m, &l)),
                    "path, size {n} index {m}"
                );
            }
        }
    }

    #[test]
    fn proof_round_trip_every_index_sizes_1_to_33() {
        for n in 1..=33usize {
            let l = leaves(n);
            let r = root(&l);
            let tree = MerkleTree::new(&l);
            for i in 0..n {
                let p = inclusion_proof(&l, i).unwrap();
                assert_eq!(tree.inclusion_proof(i).as_ref(), Some(&p));
                // Path length is bounded by ceil(log2 n).
                assert!(p.len() <= 6);
                verify_inclusion(&l[i], i as u64, n as u64, &p, &r)
                    .unwrap_or_else(|e| panic!("size {n} index {i}: {e}"));
            }
        }
    }

    #[test]
    fn out_of_range_proof_is_none() {
        let l = leaves(5);
        assert_eq!(inclusion_proof(&l, 5), None);
        assert_eq!(inclusion_proof(&l, usize::MAX), None);
        assert_eq!(inclusion_proof(&[], 0), None);
    }

    #[test]
    fn single_leaf_proof_is_empty() {
        let l = leaves(1);
        assert_eq!(inclusion_proof(&l, 0), Some(vec![]));
        assert_eq!(verify_inclusion(&l[0], 0, 1, &[], &l[0]), Ok(()));
        assert_eq!(
            verify_inclusion(&l[0], 0, 1, &[l[0]], &l[0]),
            Err(ProofError::PathTooLong)
        );
    }

    #[test]
    fn index_out_of_range_is_rejected() {
        let l = leaves(4);
        let r = root(&l);
        let p = inclusion_proof(&l, 3).unwrap();
        assert_eq!(
            verify_inclusion(&l[3], 4, 4, &p, &r),
            Err(ProofError::IndexOutOfRange {
                index: 4,
                tree_size: 4
            })
        );
        assert_eq!(
            verify_inclusion(&l[0], 0, 0, &[], &root(&[])),
            Err(ProofError::IndexOutOfRange {
                index: 0,
                tree_size: 0
            })
        );
        assert_eq!(
            verify_inclusion(&l[0], u64::MAX, u64::MAX, &p, &r),
            Err(ProofError::IndexOutOfRange {
                index: u64::MAX,
                tree_size: u64::MAX
            })
        );
    }

    #[test]
    fn wrong_index_fails() {
        for n in 2..=17usize {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..n {
                let p = inclusion_proof(&l, i).unwrap();
                for j in (0..n).filter(|&j| j != i) {
                    assert!(
                        verify_inclusion(&l[i], j as u64, n as u64, &p, &r).is_err(),
                        "size {n}: proof of {i} accepted at {j}"
                    );
                }
            }
        }
    }

    /// For each audit path element, whether the sibling is on the right, per RFC 6962 PATH.
    fn sides(m: usize, n: usize) -> Vec<bool> {
        if n <= 1 {
            return Vec::new();
        }
        let k = split(n);
        let mut s = if m < k {
            sides(m, k)
        } else {
            sides(m - k, n - k)
        };
        s.push(m < k);
        s
    }

    #[test]
    fn wrong_size_fails() {
        // A path only fixes the sequence of left/right steps, so a size with the very same
        // sequence for this index verifies too (RFC 9162 does not bind the size into the root;
        // the signed manifest's record count does). Every other size must fail.
        let mut rejected = 0;
        for n in 1..=20usize {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..n {
                let p = inclusion_proof(&l, i).unwrap();
                for m in (1..=40usize).filter(|&m| m != n) {
                    let result = verify_inclusion(&l[i], i as u64, m as u64, &p, &r);
                    if i < m && sides(i, m) == sides(i, n) {
                        assert_eq!(result, Ok(()), "size {n} index {i} as size {m}");
                    } else {
                        assert!(result.is_err(), "size {n} index {i} accepted as size {m}");
                        rejected += 1;
                    }
                }
                // Doubling or halving the size always changes the shape.
                assert!(verify_inclusion(&l[i], i as u64, 2 * n as u64, &p, &r).is_err());
                assert!(verify_inclusion(&l[i], i as u64, n as u64 / 2, &p, &r).is_err());
            }
        }
        assert!(rejected > 5_000);
        // Concrete cases: 5 leaves, last index has a 1-element path; as size 8 it needs 3.
        let l = leaves(5);
        let p = inclusion_proof(&l, 4).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(
            verify_inclusion(&l[4], 4, 8, &p, &root(&l)),
            Err(ProofError::PathTooShort)
        );
        // 8 leaves, index 0 has a 3-element path; as size 2 only one is used.
        let l = leaves(8);
        let p = inclusion_proof(&l, 0).unwrap();
        assert_eq!(
            verify_inclusion(&l[0], 0, 2, &p, &root(&l)),
            Err(ProofError::PathTooLong)
        );
    }

    #[test]
    fn extra_or_missing_path_element_fails_with_length_error() {
        for n in 1..=33usize {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..n {
                let p = inclusion_proof(&l, i).unwrap();
                let mut longer = p.clone();
                longer.push([7; 32]);
                assert_eq!(
                    verify_inclusion(&l[i], i as u64, n as u64, &longer, &r),
                    Err(ProofError::PathTooLong),
                    "size {n} index {i}"
                );
                if !p.is_empty() {
                    let shorter = &p[..p.len() - 1];
                    assert_eq!(
                        verify_inclusion(&l[i], i as u64, n as u64, shorter, &r),
                        Err(ProofError::PathTooShort),
                        "size {n} index {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn huge_proof_is_rejected_quickly() {
        let l = leaves(3);
        let r = root(&l);
        let huge = vec![[0u8; 32]; 100_000];
        assert_eq!(
            verify_inclusion(&l[0], 0, 3, &huge, &r),
            Err(ProofError::PathTooLong)
        );
        // Even at the largest size, at most 64 hashes can be consumed.
        assert_eq!(
            verify_inclusion(&l[0], 0, u64::MAX, &huge, &r),
            Err(ProofError::PathTooLong)
        );
    }

    #[test]
    fn tampered_node_wrong_leaf_or_root_fails() {
        for n in 2..=33usize {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..n {
                let p = inclusion_proof(&l, i).unwrap();
                for k in 0..p.len() {
                    let mut bad = p.clone();
                    bad[k][31] ^= 1;
                    assert_eq!(
                        verify_inclusion(&l[i], i as u64, n as u64, &bad, &r),
                        Err(ProofError::RootMismatch)
                    );
                }
                let other = leaf_hash(b"not in the tree");
                assert_eq!(
                    verify_inclusion(&other, i as u64, n as u64, &p, &r),
                    Err(ProofError::RootMismatch)
                );
                let mut bad_root = r;
                bad_root[0] ^= 0x80;
                assert_eq!(
                    verify_inclusion(&l[i], i as u64, n as u64, &p, &bad_root),
                    Err(ProofError::RootMismatch)
                );
            }
        }
    }

    #[test]
    fn raw_record_is_not_a_leaf_hash() {
        // A leaf must be given as leaf_hash(record); the bare SHA-256 of the record must fail.
        let records: Vec<Vec<u8>> = (0..5).map(|i| vec![i; 3]).collect();
        let l: Vec<Hash> = records.iter().map(|r| leaf_hash(r)).collect();
        let r = root(&l);
        let p = inclusion_proof(&l, 2).unwrap();
        assert_eq!(
            verify_inclusion(&h(&records[2]), 2, 5, &p, &r),
            Err(ProofError::RootMismatch)
        );
    }

    #[test]
    fn interior_node_cannot_pose_as_leaf() {
        // Second-preimage attempt: present node(l0,l1) as a leaf of a 2-leaf "tree".
        let l = leaves(4);
        let r = root(&l);
        let left = node_hash(&l[0], &l[1]);
        let right = node_hash(&l[2], &l[3]);
        assert_eq!(root(&[left, right]), r);
        // The verifier is given a hash, so it cannot tell; but no record hashes to `left` as a
        // leaf, since leaf hashes have the 0x00 prefix. We check the prefixes differ in effect.
        assert_ne!(leaf_hash(&[l[0], l[1]].concat()), left);
    }

    #[test]
    fn large_tree_is_fast() {
        let l: Vec<Hash> = (0..100_000u32)
            .map(|i| leaf_hash(&i.to_be_bytes()))
            .collect();
        let start = std::time::Instant::now();
        let r = root(&l);
        let tree = MerkleTree::new(&l);
        assert_eq!(tree.root(), r);
        for i in [0usize, 1, 65_535, 65_536, 99_998, 99_999] {
            let p = tree.inclusion_proof(i).unwrap();
            assert_eq!(verify_inclusion(&l[i], i as u64, 100_000, &p, &r), Ok(()));
        }
        // Generous bound: linear work is a few tens of ms even unoptimised.
        assert!(start.elapsed().as_secs() < 10);
    }

    #[test]
    fn error_messages_are_clear() {
        assert_eq!(
            ProofError::IndexOutOfRange {
                index: 5,
                tree_size: 3
            }
            .to_string(),
            "leaf index 5 is out of range for a tree of 3 leaves"
        );
        assert!(ProofError::PathTooLong.to_string().contains("more hashes"));
        assert!(ProofError::PathTooShort
            .to_string()
            .contains("fewer hashes"));
        assert!(ProofError::RootMismatch.to_string().contains("root"));
    }

    /// Differential tests against the independent `ct-merkle` crate.
    mod differential {
        use super::super::*;
        use ct_merkle::digest::{
            self, consts::U32, FixedOutput, HashMarker, Output, OutputSizeUser, Update,
        };
        use ct_merkle::mem_backed_tree::MemoryBackedTree;
        use ct_merkle::{InclusionProof, RootHash};

        /// ct-merkle 0.3 is built on `digest` 0.11 while our sha2 is 0.10, so this adapter
        /// gives it the very same SHA-256 through the newer trait set.
        #[derive(Default, Clone)]
        struct Sha256V11(sha2::Sha256);

        impl HashMarker for Sha256V11 {}
        impl OutputSizeUser for Sha256V11 {
            type OutputSize = U32;
        }
        impl Update for Sha256V11 {
            fn update(&mut self, data: &[u8]) {
                sha2::Digest::update(&mut self.0, data);
            }
        }
        impl FixedOutput for Sha256V11 {
            fn finalize_into(self, out: &mut Output<Self>) {
                out.copy_from_slice(&sha2::Digest::finalize(self.0));
            }
        }

        #[test]
        fn adapter_is_sha256() {
            let d: [u8; 32] = <Sha256V11 as digest::Digest>::digest(b"abc").into();
            assert_eq!(d, <[u8; 32]>::from(sha2::Sha256::digest(b"abc")));
        }

        /// ct-merkle hashes a `Vec<u8>` leaf as H(0x00 ‖ bytes) through its blanket
        /// `HashableLeaf for AsRef<[u8]>` impl (tree_util.rs: LeafHasher prepends 0x00, then
        /// `hasher.update(self.as_ref())`), which is exactly our `leaf_hash(record)`.
        fn record(n: usize, i: usize) -> Vec<u8> {
            format!("size {n} record {i} \u{1f333}").into_bytes()
        }

        #[test]
        fn one_leaf_hash_agrees() {
            let mut t = MemoryBackedTree::<Sha256V11, Vec<u8>>::new();
            t.push(b"hello".to_vec());
            let theirs: [u8; 32] = (*t.root().as_bytes()).into();
            assert_eq!(theirs, leaf_hash(b"hello"));
        }

        #[test]
        fn roots_and_proofs_agree_sizes_1_to_70() {
            for n in 1..=70usize {
                let records: Vec<Vec<u8>> = (0..n).map(|i| record(n, i)).collect();
                let mut theirs = MemoryBackedTree::<Sha256V11, Vec<u8>>::new();
                for r in &records {
                    theirs.push(r.clone());
                }
                let ours_leaves: Vec<Hash> = records.iter().map(|r| leaf_hash(r)).collect();
                let our_root = root(&ours_leaves);
                let their_root = theirs.root();
                let their_root_bytes: [u8; 32] = (*their_root.as_bytes()).into();
                assert_eq!(our_root, their_root_bytes, "root, size {n}");
                assert_eq!(their_root.num_leaves(), n as u64);

                for i in 0..n {
                    let our_proof = inclusion_proof(&ours_leaves, i).unwrap();
                    let their_proof = theirs.prove_inclusion(i);
                    assert_eq!(
                        our_proof.concat(),
                        their_proof.as_bytes(),
                        "proof bytes, size {n} index {i}"
                    );
                    // Our proof, verified by their verifier against our root.
                    let our_root_for_them = RootHash::<Sha256V11>::new(our_root.into(), n as u64);
                    let as_theirs =
                        InclusionProof::<Sha256V11>::try_from_bytes(our_proof.concat()).unwrap();
                    our_root_for_them
                        .verify_inclusion(&records[i], i as u64, &as_theirs)
                        .unwrap_or_else(|e| panic!("ct-merkle rejects size {n} index {i}: {e}"));
                    // Their proof, verified by our verifier against their root.
                    let their_path: Vec<Hash> = their_proof
                        .as_bytes()
                        .chunks(32)
                        .map(|c| <[u8; 32]>::try_from(c).unwrap())
                        .collect();
                    assert_eq!(
                        verify_inclusion(
                            &leaf_hash(&records[i]),
                            i as u64,
                            n as u64,
                            &their_path,
                            &their_root_bytes
                        ),
                        Ok(())
                    );
                    // And both reject the same tampering.
                    if let Some(first) = our_proof.first() {
                        let mut bad = our_proof.clone();
                        bad[0] = node_hash(first, first);
                        let bad_theirs =
                            InclusionProof::<Sha256V11>::try_from_bytes(bad.concat()).unwrap();
                        assert!(our_root_for_them
                            .verify_inclusion(&records[i], i as u64, &bad_theirs)
                            .is_err());
                        assert!(verify_inclusion(
                            &ours_leaves[i],
                            i as u64,
                            n as u64,
                            &bad,
                            &our_root
                        )
                        .is_err());
                    }
                }
            }
        }
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            // 64 random trees of 1..=300 leaves, a sampled index each: runs in well under a
            // second, and a failure prints the smallest case proptest could shrink it to.
            #![proptest_config(ProptestConfig::with_cases(64))]

            /// A proof verifies for its leaf, and any single changed byte — in the leaf, in one
            /// hash of the path, or in the root — makes it fail.
            #[test]
            fn proofs_verify_and_any_changed_byte_breaks_them(
                records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..=300),
                index_seed in any::<prop::sample::Index>(),
                byte_seed in any::<prop::sample::Index>(),
                bit in 0u8..8,
                target in 0u8..3,
            ) {
                let leaves: Vec<Hash> = records.iter().map(|r| leaf_hash(r)).collect();
                let size = leaves.len() as u64;
                let index = index_seed.index(leaves.len());
                let root = root(&leaves);
                let path = inclusion_proof(&leaves, index).expect("index in range");
                prop_assert_eq!(
                    verify_inclusion(&leaves[index], index as u64, size, &path, &root),
                    Ok(())
                );

                let flip = |h: &mut Hash| h[byte_seed.index(32)] ^= 1 << bit;
                let (mut leaf, mut path, mut root) = (leaves[index], path, root);
                match target {
                    0 => flip(&mut leaf),
                    1 if !path.is_empty() => {
                        let at = byte_seed.index(path.len());
                        flip(&mut path[at]);
                    }
                    _ => flip(&mut root),
                }
                prop_assert!(verify_inclusion(&leaf, index as u64, size, &path, &root).is_err());
            }
        }
    }
}
