//! Answers of the access read models, remembered for as long as the read models stand still.
//! Each entry is tagged with the projected position it was read at (taken before the read, so
//! the data is at least that new) and is used only while the projections are still at that
//! position: the first event projected after a revocation retires every entry, so a revoked
//! token or grant never outlives the projection of its revocation. On a quiet registry a hot
//! route's token lookup and standing query are then a map lookup.

use annals_projections::queries::access::Holdings;
use moka::sync::Cache;
use uuid::Uuid;

use super::Caller;

/// Entries kept at most, per kind.
const CAPACITY: u64 = 20_000;

#[derive(Clone)]
pub struct AccessCache {
    credentials: Cache<String, (u64, Option<Caller>)>,
    holdings: Cache<(Uuid, Option<Uuid>, Uuid), (u64, Holdings)>,
}

impl Default for AccessCache {
    fn default() -> Self {
        AccessCache {
            credentials: Cache::new(CAPACITY),
            holdings: Cache::new(CAPACITY),
        }
    }
}

impl AccessCache {
    /// The caller a credential digest stood for at `position`, if read there.
    pub fn credential(&self, digest: &str, position: u64) -> Option<Option<Caller>> {
        self.credentials
            .get(digest)
            .filter(|(at, _)| *at == position)
            .map(|(_, caller)| caller)
    }

    pub fn remember_credential(&self, digest: &str, position: u64, caller: Option<Caller>) {
        self.credentials
            .insert(digest.to_owned(), (position, caller));
    }

    /// What `principal` held on (`namespace`, `repository`) at `position`, if read there.
    pub fn holdings(&self, key: (Uuid, Option<Uuid>, Uuid), position: u64) -> Option<Holdings> {
        self.holdings
            .get(&key)
            .filter(|(at, _)| *at == position)
            .map(|(_, held)| held)
    }

    pub fn remember_holdings(
        &self,
        key: (Uuid, Option<Uuid>, Uuid),
        position: u64,
        held: Holdings,
    ) {
        self.holdings.insert(key, (position, held));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_serves_only_its_own_position() {
        let cache = AccessCache::default();
        let key = (Uuid::from_u128(1), None, Uuid::from_u128(2));
        cache.remember_holdings(key, 7, Holdings::default());
        assert_eq!(cache.holdings(key, 7), Some(Holdings::default()));
        assert_eq!(cache.holdings(key, 8), None, "an event was projected since");
        cache.remember_credential("d", 7, None);
        assert_eq!(cache.credential("d", 7), Some(None));
        assert_eq!(cache.credential("d", 6), None);
    }
}
