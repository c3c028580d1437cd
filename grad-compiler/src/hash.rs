//! The compiler's hash maps and sets, with a fast hasher: their keys are the compiler's own
//! small numbers (variable ids) and names, never input an attacker chooses, so std's
//! SipHash (built to resist that) is a cost without a use. It was a tenth of the macro's
//! time, run unoptimised as cargo runs proc macros.

use std::hash::{BuildHasherDefault, Hasher};

/// A multiply-rotate hasher (the one rustc uses for its own tables, FxHash).
#[derive(Clone, Copy, Debug, Default)]
pub struct FastHasher(u64);

impl FastHasher {
    #[inline]
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("eight bytes")));
        }
        for b in chunks.remainder() {
            self.add(u64::from(*b));
        }
    }
    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A hash map with [`FastHasher`].
pub type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A hash set with [`FastHasher`].
pub type HashSet<K> = std::collections::HashSet<K, BuildHasherDefault<FastHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_keep_and_find_their_keys() {
        let mut m: HashMap<u32, usize> = HashMap::default();
        for k in 0..1000u32 {
            m.insert(k * 7, k as usize);
        }
        assert!((0..1000u32).all(|k| m[&(k * 7)] == k as usize));
        let s: HashSet<String> = ["a", "bb", "a"].iter().map(|x| x.to_string()).collect();
        assert_eq!(s.len(), 2);
    }
}
