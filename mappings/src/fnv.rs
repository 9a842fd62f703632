//! FNV-1a hashing for short keys (group ids, property names) in per-call tables, where hash
//! flooding is not a concern and SipHash would dominate the cost.

use std::hash::Hasher;

/// 64-bit FNV-1a.
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// FNV-1a of `text`.
pub(crate) fn hash_str(text: &str) -> u64 {
    let mut hasher = Fnv::default();
    hasher.write(text.as_bytes());
    hasher.finish()
}

/// Word-at-a-time hash (the multiply-rotate step of rustc's FxHash) for de-duplicating group
/// ids: a 36-character GUID takes 5 steps instead of FNV's 36. Not flood-resistant, like FNV,
/// which is fine for a set that lives for one call and holds at most `max_array_size` ids.
#[derive(Default)]
pub(crate) struct WordHasher(u64);

impl WordHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        // The last multiply leaves the low bits (which hashbrown uses to pick a bucket) depending
        // only on the low bits of the last word; the well-mixed high bits are rotated down, as
        // rustc-hash 2 does. Without this, GUIDs differing near the end share a few buckets.
        self.0.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::WordHasher;
    use std::collections::HashSet;
    use std::hash::{BuildHasher, BuildHasherDefault};

    #[test]
    fn word_hasher_spreads_similar_ids_over_buckets() {
        let build = BuildHasherDefault::<WordHasher>::default();
        let buckets: HashSet<u64> = (0..256)
            .map(|i| build.hash_one(format!("76382f05-da48-434b-a487-{i:012}").as_str()) & 255)
            .collect();
        // 256 random throws into 256 buckets fill about 162 of them.
        assert!(buckets.len() > 130, "only {} buckets used", buckets.len());
    }
}
