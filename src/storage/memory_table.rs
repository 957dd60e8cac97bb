//! The memory store's tables: values found by a key each value holds, with the key's hash
//! kept beside the value.
//!
//! Keeping the hash means growing a table moves its entries without reading a key again.
//! A key lives behind a pointer, so rehashing a table of thousands of flows or sessions
//! read every one of them, a cache miss apiece: a few percent of an authorization flow,
//! measured. A probe compares the whole hash first and reads a key only when it matches,
//! and inserting copies no key.

use std::hash::BuildHasher as _;

use hashbrown::hash_table::{Entry, HashTable};

/// A value that holds its own key.
pub(super) trait Keyed {
    fn key(&self) -> &str;
}

/// Values by their keys (see the module docs).
pub(super) struct Table<T> {
    entries: HashTable<(u64, T)>,
    hasher: foldhash::fast::RandomState,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Self {
            entries: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(_, v)| v))
            .finish()
    }
}

/// Whether an entry holds the value keyed `key` (whose hash is `hash`).
fn holds<T: Keyed>(hash: u64, key: &str) -> impl Fn(&(u64, T)) -> bool + '_ {
    move |(h, v)| *h == hash && v.key() == key
}

impl<T: Keyed> Table<T> {
    /// Inserts `value`, replacing the one with its key (returned), if any.
    pub fn insert(&mut self, value: T) -> Option<T> {
        let hash = self.hasher.hash_one(value.key());
        match self
            .entries
            .entry(hash, holds(hash, value.key()), |(h, _)| *h)
        {
            Entry::Occupied(mut e) => Some(std::mem::replace(&mut e.get_mut().1, value)),
            Entry::Vacant(e) => {
                e.insert((hash, value));
                None
            }
        }
    }

    /// Inserts `value` unless one with its key is there; then `value` comes back.
    pub fn insert_new(&mut self, value: T) -> Result<(), T> {
        let hash = self.hasher.hash_one(value.key());
        match self
            .entries
            .entry(hash, holds(hash, value.key()), |(h, _)| *h)
        {
            Entry::Occupied(_) => Err(value),
            Entry::Vacant(e) => {
                e.insert((hash, value));
                Ok(())
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&T> {
        let hash = self.hasher.hash_one(key);
        self.entries.find(hash, holds(hash, key)).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut T> {
        let hash = self.hasher.hash_one(key);
        self.entries
            .find_mut(hash, holds(hash, key))
            .map(|(_, v)| v)
    }

    pub fn remove(&mut self, key: &str) -> Option<T> {
        let hash = self.hasher.hash_one(key);
        let found = self.entries.find_entry(hash, holds(hash, key)).ok()?;
        Some(found.remove().0 .1)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&mut T) -> bool) {
        self.entries.retain(|(_, v)| keep(v));
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Keyed for (String, u32) {
        fn key(&self) -> &str {
            &self.0
        }
    }

    #[test]
    fn keeps_one_value_per_key_through_growth() {
        let mut t = Table::default();
        for i in 0..1000u32 {
            assert!(t.insert((format!("k{i}"), i)).is_none());
        }
        assert_eq!(t.insert(("k7".to_owned(), 70)), Some(("k7".to_owned(), 7)));
        assert_eq!(
            t.insert_new(("k8".to_owned(), 80)),
            Err(("k8".to_owned(), 80))
        );
        assert_eq!(t.insert_new(("new".to_owned(), 1)), Ok(()));
        assert_eq!(t.len(), 1001);
        assert_eq!(t.get("k7").map(|v| v.1), Some(70));
        assert_eq!(t.get("k999").map(|v| v.1), Some(999));
        assert!(t.get("k1000").is_none());
        t.get_mut("k3").unwrap().1 = 33;
        assert_eq!(t.remove("k3"), Some(("k3".to_owned(), 33)));
        assert_eq!(t.remove("k3"), None);
        t.retain(|v| v.1 % 2 == 0);
        assert!(t.values().all(|v| v.1 % 2 == 0));
        assert_eq!(t.len(), 501);
    }
}
