//! In-process counters: the embedded default, for a single instance.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{CounterStore, StoreResult};

#[derive(Default)]
pub struct MemoryCounters {
    values: Mutex<HashMap<String, i64>>,
    /// Changes made so far, numbering each `add`.
    changes: std::sync::atomic::AtomicI64,
}

impl MemoryCounters {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, i64>) -> T) -> T {
        // A poisoned lock only means another thread panicked mid-update of a
        // plain integer map; the data is still usable.
        let mut values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut values)
    }
}

#[async_trait]
impl CounterStore for MemoryCounters {
    async fn add_if_present(&self, key: &str, delta: i64) -> StoreResult<Option<(i64, i64)>> {
        Ok(self.with(|values| {
            values.get_mut(key).map(|value| {
                *value += delta;
                // Numbered under the lock, so numbers follow the values' order.
                let change = self
                    .changes
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    + 1;
                (*value, change)
            })
        }))
    }

    async fn get_many(&self, keys: &[String]) -> StoreResult<Vec<Option<i64>>> {
        Ok(self.with(|values| keys.iter().map(|key| values.get(key).copied()).collect()))
    }

    async fn set_if_absent(&self, key: &str, value: i64) -> StoreResult<bool> {
        Ok(self.with(|values| {
            if values.contains_key(key) {
                false
            } else {
                values.insert(key.to_owned(), value);
                true
            }
        }))
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<i64>,
        value: i64,
    ) -> StoreResult<bool> {
        Ok(self.with(|values| {
            if values.get(key).copied() == expected {
                values.insert(key.to_owned(), value);
                true
            } else {
                false
            }
        }))
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }

    fn is_local(&self) -> bool {
        true
    }
}
