//! A lock per key, held across awaits: adoption of one model (by region and name) is decided
//! and acted on by one reconcile at a time in this process, whichever namespace's controller
//! runs it. (Across processes, leader election lets one reconcile; the read-back after a claim
//! catches a writer that slipped through during a failover.)

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Default)]
pub struct KeyedLocks {
    locks: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

/// Held while the key's lock is; drops the key's entry when nobody else waits for it.
pub struct Held<'a> {
    owner: &'a KeyedLocks,
    key: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl KeyedLocks {
    pub async fn lock(&self, key: String) -> Held<'_> {
        let lock = {
            let mut locks = self.locks.lock();
            locks.entry(key.clone()).or_default().clone()
        };
        let guard = lock.lock_owned().await;
        Held {
            owner: self,
            key,
            guard: Some(guard),
        }
    }

    /// How many keys have an entry (held or awaited).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.locks.lock().len()
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut locks = self.owner.locks.lock();
        drop(self.guard.take());
        // Two references: the map's and this guard's lock (released just above, but the
        // guard's Arc is gone with it); anything more is a waiter that still needs the entry.
        if locks
            .get(&self.key)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            locks.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_holder_per_key_and_entries_go_when_released() {
        let locks = Arc::new(KeyedLocks::default());
        let first = locks.lock("us-east-1/shared".into()).await;
        let other_key = locks.lock("us-east-1/other".into()).await;
        drop(other_key);
        let waiter = {
            let locks = locks.clone();
            tokio::spawn(async move {
                let _held = locks.lock("us-east-1/shared".into()).await;
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiter.is_finished(),
            "the second taker waits for the first"
        );
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiter gets the lock once it is released")
            .expect("the waiter ran");
        assert_eq!(locks.len(), 0, "no entry is kept for keys nobody holds");
    }
}
