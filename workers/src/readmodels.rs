//! The read-model database that serves queries now. A rebuild promotes a new generation; the
//! server notices, catches the new generation up and swaps it in while queries keep running.

use std::sync::{Arc, RwLock};

use annals_projections::sql::ReadDb;

#[derive(Clone)]
pub struct ReadModels {
    current: Arc<RwLock<(u64, Arc<dyn ReadDb>)>>,
}

impl ReadModels {
    pub fn new(generation: u64, db: Arc<dyn ReadDb>) -> Self {
        ReadModels {
            current: Arc::new(RwLock::new((generation, db))),
        }
    }

    /// The database to query now.
    pub fn db(&self) -> Arc<dyn ReadDb> {
        self.read().1.clone()
    }

    pub fn generation(&self) -> u64 {
        self.read().0
    }

    pub fn swap(&self, generation: u64, db: Arc<dyn ReadDb>) {
        let mut current = self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *current = (generation, db);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, (u64, Arc<dyn ReadDb>)> {
        // A panic elsewhere cannot leave the pair half-written, so a poisoned lock is still valid.
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
