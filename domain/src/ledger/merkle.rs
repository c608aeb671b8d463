//! RFC 6962 / RFC 9162 Merkle trees: leaf and node hashes, the right frontier the ledger keeps
//! while it appends, roots, inclusion and consistency proofs, and their verification.
//!
//! Stored hashes: the hash of every complete subtree is addressed by `(level, index)`: the
//! subtree of `2^level` leaves starting at leaf `index * 2^level` (level 0 = the leaf hashes).
//! Hashes never change once a subtree is complete, so they can be kept, served as tiles and
//! read back to answer any proof for any tree size.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of nothing.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// `SHA-256(0x00 || bytes)`.
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(bytes);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two strictly below `n` (n >= 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// A complete subtree: `2^level` leaves from leaf `index << level`.
pub type Key = (u8, u64);

/// The complete subtrees a tree of `size` leaves decomposes into, largest (leftmost) first:
/// its right frontier.
pub fn frontier_keys(size: u64) -> Vec<Key> {
    let mut keys = Vec::new();
    let mut start = 0u64;
    for level in (0..64u8).rev() {
        if size & (1u64 << level) != 0 {
            keys.push((level, start >> level));
            start += 1u64 << level;
        }
    }
    keys
}

/// The right frontier of a growing tree: the hashes of its maximal complete subtrees.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// `(level, hash)`, largest subtree first; levels strictly decrease.
    nodes: Vec<(u8, Hash)>,
}

impl Frontier {
    pub fn new() -> Self {
        Self::default()
    }

    /// The frontier of a tree of `size` leaves from the hashes of [`frontier_keys`]`(size)`,
    /// in that order. None when the count does not match.
    pub fn from_parts(size: u64, hashes: &[Hash]) -> Option<Self> {
        let keys = frontier_keys(size);
        (keys.len() == hashes.len()).then(|| Frontier {
            size,
            nodes: keys
                .iter()
                .map(|k| k.0)
                .zip(hashes.iter().copied())
                .collect(),
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash; calls `stored(level, index, hash)` for it and for every subtree it
    /// completes, in increasing level.
    pub fn push(&mut self, leaf: Hash, mut stored: impl FnMut(u8, u64, &Hash)) {
        let index = self.size;
        stored(0, index, &leaf);
        let mut hash = leaf;
        let mut level = 0u8;
        while let Some(&(l, left)) = self.nodes.last() {
            if l != level {
                break;
            }
            self.nodes.pop();
            hash = node_hash(&left, &hash);
            level += 1;
            stored(level, index >> level, &hash);
        }
        self.nodes.push((level, hash));
        self.size += 1;
    }

    /// The tree's root hash (RFC 6962 MTH).
    pub fn root(&self) -> Hash {
        let mut iter = self.nodes.iter().rev();
        let Some(&(_, mut hash)) = iter.next() else {
            return EMPTY_ROOT;
        };
        for (_, left) in iter {
            hash = node_hash(left, &hash);
        }
        hash
    }
}

/// Why a proof cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("index {index} is not below the tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {first} is not between 1 and {second}")]
    BadSizes { first: u64, second: u64 },
    #[error("stored hash ({0}, {1}) is missing")]
    Missing(u8, u64),
}

/// MTH(D[lo:hi]) from stored hashes; every (lo, hi) this is called with starts a subtree
/// aligned to the largest power of two that fits.
fn mth(lo: u64, hi: u64, get: &mut dyn FnMut(Key) -> Option<Hash>) -> Result<Hash, ProofError> {
    let n = hi - lo;
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        let level = n.trailing_zeros() as u8;
        let key = (level, lo >> level);
        return get(key).ok_or(ProofError::Missing(key.0, key.1));
    }
    let k = split(n);
    let left = mth(lo, lo + k, get)?;
    let right = mth(lo + k, hi, get)?;
    Ok(node_hash(&left, &right))
}

/// The root of the tree's first `size` leaves from stored hashes.
pub fn root_at(size: u64, get: &mut dyn FnMut(Key) -> Option<Hash>) -> Result<Hash, ProofError> {
    if size == 0 {
        return Ok(EMPTY_ROOT);
    }
    mth(0, size, get)
}

fn path(
    index: u64,
    lo: u64,
    hi: u64,
    get: &mut dyn FnMut(Key) -> Option<Hash>,
    out: &mut Vec<Hash>,
) -> Result<(), ProofError> {
    if hi - lo == 1 {
        return Ok(());
    }
    let k = split(hi - lo);
    if index < lo + k {
        path(index, lo, lo + k, get, out)?;
        out.push(mth(lo + k, hi, get)?);
    } else {
        path(index, lo + k, hi, get, out)?;
        out.push(mth(lo, lo + k, get)?);
    }
    Ok(())
}

/// RFC 9162 §2.1.3.1: the inclusion proof of leaf `index` in the tree of `size` leaves, leaf
/// side first.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    get: &mut dyn FnMut(Key) -> Option<Hash>,
) -> Result<Vec<Hash>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    path(index, 0, size, get, &mut out)?;
    Ok(out)
}

fn subproof(
    m: u64,
    lo: u64,
    hi: u64,
    complete: bool,
    get: &mut dyn FnMut(Key) -> Option<Hash>,
    out: &mut Vec<Hash>,
) -> Result<(), ProofError> {
    let n = hi - lo;
    if m == n {
        if !complete {
            out.push(mth(lo, hi, get)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(m, lo, lo + k, complete, get, out)?;
        out.push(mth(lo + k, hi, get)?);
    } else {
        subproof(m - k, lo + k, hi, false, get, out)?;
        out.push(mth(lo, lo + k, get)?);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.1: the proof that the tree of `first` leaves is a prefix of the tree of
/// `second` leaves (empty when they are equal).
pub fn consistency_proof(
    first: u64,
    second: u64,
    get: &mut dyn FnMut(Key) -> Option<Hash>,
) -> Result<Vec<Hash>, ProofError> {
    if first == 0 || first > second {
        return Err(ProofError::BadSizes { first, second });
    }
    let mut out = Vec::new();
    subproof(first, 0, second, true, get, &mut out)?;
    Ok(out)
}

/// The stored hashes a computation over stored hashes reads, found by running it once with
/// placeholder hashes; fetch them, then run it again over what was fetched.
pub fn keys_read<T>(run: impl FnOnce(&mut dyn FnMut(Key) -> Option<Hash>) -> T) -> Vec<Key> {
    let mut keys = Vec::new();
    run(&mut |k| {
        keys.push(k);
        Some([0; 32])
    });
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// RFC 9162 §2.1.3.2: whether `proof` shows leaf `index` with hash `leaf` in the tree of
/// `size` leaves with root `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

/// RFC 9162 §2.1.4.2: whether `proof` shows the tree of `first` leaves with root `first_root`
/// to be a prefix of the tree of `second` leaves with root `second_root`.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> bool {
    if first == 0 || first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let Some((&seed, rest)) = path.split_first() else {
        return false;
    };
    let (mut fnode, mut snode) = (first - 1, second - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (seed, seed);
    for c in rest {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    fr == *first_root && sr == *second_root && snode == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn hex(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 6962's definition, recursively over leaf hashes: the reference the rest is checked
    /// against.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    /// The leaves of the RFC 6962 test vectors used by certificate-transparency-go and Trillian.
    fn vector_leaves() -> Vec<Vec<u8>> {
        vec![
            vec![],
            vec![0x00],
            vec![0x10],
            vec![0x20, 0x21],
            vec![0x30, 0x31],
            vec![0x40, 0x41, 0x42, 0x43],
            vec![0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            (0x60..=0x6f).collect(),
        ]
    }

    fn stored(leaves: &[Hash]) -> (Frontier, HashMap<Key, Hash>) {
        let mut frontier = Frontier::new();
        let mut map = HashMap::new();
        for leaf in leaves {
            frontier.push(*leaf, |l, i, h| {
                assert!(map.insert((l, i), *h).is_none(), "stored twice: {l} {i}");
            });
        }
        (frontier, map)
    }

    #[test]
    fn rfc6962_vector_roots() {
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        assert_eq!(
            hex(&Frontier::new().root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut frontier = Frontier::new();
        for (leaf, root) in vector_leaves().iter().zip(roots) {
            frontier.push(leaf_hash(leaf), |_, _, _| {});
            assert_eq!(hex(&frontier.root()), root, "size {}", frontier.size());
        }
    }

    #[test]
    fn rfc6962_vector_proofs() {
        let leaves: Vec<Hash> = vector_leaves().iter().map(|l| leaf_hash(l)).collect();
        let (_, map) = stored(&leaves);
        let mut get = |k: Key| map.get(&k).copied();
        // Inclusion of leaf 0 in the tree of 8 (the vectors' first inclusion proof).
        let proof: Vec<String> = inclusion_proof(0, 8, &mut get)
            .unwrap()
            .iter()
            .map(hex)
            .collect();
        assert_eq!(
            proof,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
        );
        // Consistency 1 → 8 and 6 → 8.
        let c: Vec<String> = consistency_proof(1, 8, &mut get)
            .unwrap()
            .iter()
            .map(hex)
            .collect();
        assert_eq!(
            c,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
        );
        let c: Vec<String> = consistency_proof(6, 8, &mut get)
            .unwrap()
            .iter()
            .map(hex)
            .collect();
        assert_eq!(
            c,
            [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
        );
    }

    #[test]
    fn proofs_verify_for_every_size_and_fail_when_altered() {
        let leaves: Vec<Hash> = (0..70u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let (frontier, map) = stored(&leaves);
        let mut get = |k: Key| map.get(&k).copied();
        assert_eq!(frontier.root(), reference_root(&leaves));
        for size in 1..=leaves.len() as u64 {
            let root = reference_root(&leaves[..size as usize]);
            assert_eq!(root_at(size, &mut get).unwrap(), root);
            let parts: Vec<Hash> = frontier_keys(size).iter().map(|k| map[k]).collect();
            assert_eq!(Frontier::from_parts(size, &parts).unwrap().root(), root);
            for index in 0..size {
                let leaf = leaves[index as usize];
                let proof = inclusion_proof(index, size, &mut get).unwrap();
                assert!(verify_inclusion(index, size, &leaf, &proof, &root));
                let other = leaves[(index as usize + 1) % leaves.len()];
                assert!(!verify_inclusion(index, size, &other, &proof, &root));
                if let Some(first) = proof.first() {
                    let mut bad = proof.clone();
                    bad[0][0] ^= 1;
                    assert!(
                        !verify_inclusion(index, size, &leaf, &bad, &root),
                        "{first:?}"
                    );
                    assert!(!verify_inclusion(index, size, &leaf, &proof[1..], &root));
                }
            }
            for first in 1..=size {
                let first_root = reference_root(&leaves[..first as usize]);
                let proof = consistency_proof(first, size, &mut get).unwrap();
                assert!(
                    verify_consistency(first, size, &first_root, &root, &proof),
                    "{first} → {size}"
                );
                let other = leaf_hash(b"other");
                assert!(!verify_consistency(first, size, &other, &root, &proof));
                if !proof.is_empty() {
                    let mut bad = proof.clone();
                    let last = bad.len() - 1;
                    bad[last][31] ^= 1;
                    assert!(!verify_consistency(first, size, &first_root, &root, &bad));
                }
            }
        }
    }

    #[test]
    fn bad_requests_are_errors_not_panics() {
        let mut get = |_: Key| Some([0u8; 32]);
        assert!(inclusion_proof(3, 3, &mut get).is_err());
        assert!(inclusion_proof(u64::MAX, 3, &mut get).is_err());
        assert!(consistency_proof(0, 3, &mut get).is_err());
        assert!(consistency_proof(4, 3, &mut get).is_err());
        assert!(inclusion_proof(0, 1, &mut get).unwrap().is_empty());
        assert!(!verify_inclusion(u64::MAX, 3, &[0; 32], &[], &[0; 32]));
        assert!(!verify_consistency(0, 3, &[0; 32], &[0; 32], &[]));
        let mut none = |_: Key| None;
        assert_eq!(
            inclusion_proof(0, 2, &mut none),
            Err(ProofError::Missing(0, 1))
        );
        // A proof near the top of the u64 range reads a logarithmic number of hashes.
        let keys = keys_read(|get| inclusion_proof(u64::MAX / 3, u64::MAX - 1, get));
        assert!(keys.len() < 200, "{}", keys.len());
    }
}
