//! Password hashing (Argon2id) through a bounded pool. A leaf of the
//! service layer: the application state holds a [`Passwords`], and the
//! account use cases (`auth`, `password`, `privacy`) borrow it.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;

use crate::error::{AppError, Result};

/// Password hashing with the configured Argon2id cost, through a bounded
/// pool: at most `CONSUMACT_HASH_CONCURRENCY` hashes run at once (each holds
/// its Argon2 memory), at most `CONSUMACT_HASH_QUEUE` more wait, and past
/// that a caller gets `RATE_LIMITED` at once, so a flood of logins or
/// registrations queues neither memory nor time without bound.
#[derive(Clone)]
pub struct Passwords {
    params: Params,
    running: Arc<tokio::sync::Semaphore>,
    /// Hashes running or waiting.
    admitted: Arc<std::sync::atomic::AtomicUsize>,
    capacity: usize,
}

/// One admitted hash; its place is given back when dropped.
struct Admission(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl Passwords {
    /// A pool hashing one password at a time with nothing waiting beyond a
    /// few (tools and tests); the server uses [`Passwords::bounded`].
    pub fn new(memory_kib: u32, iterations: u32) -> anyhow::Result<Self> {
        Self::bounded(memory_kib, iterations, 1, 16)
    }

    /// `concurrency` hashes at once, `queue` more waiting.
    pub fn bounded(
        memory_kib: u32,
        iterations: u32,
        concurrency: usize,
        queue: usize,
    ) -> anyhow::Result<Self> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|err| anyhow::anyhow!("invalid Argon2 cost: {err}"))?;
        let concurrency = concurrency.max(1);
        Ok(Self {
            params,
            running: Arc::new(tokio::sync::Semaphore::new(concurrency)),
            admitted: Arc::default(),
            capacity: concurrency + queue,
        })
    }

    fn hasher(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Runs `work` on a blocking thread once the pool has room for it.
    async fn pooled<T: Send + 'static>(
        &self,
        work: impl FnOnce(Argon2<'static>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        use std::sync::atomic::Ordering;
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(AppError::RateLimited {
                retry_after_ms: 1_000,
            });
        }
        let admission = Admission(self.admitted.clone());
        let permit = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AppError::Unavailable)?;
        let hasher = self.hasher();
        let result = tokio::task::spawn_blocking(move || {
            let result = work(hasher);
            drop(permit);
            result
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
        drop(admission);
        result
    }

    /// The PHC string for `password`.
    pub async fn hash(&self, password: String) -> Result<String> {
        self.pooled(move |hasher| {
            let mut salt = [0u8; 16];
            rand::rng().fill_bytes(&mut salt);
            let salt =
                SaltString::encode_b64(&salt).map_err(|e| AppError::Internal(e.to_string()))?;
            hasher
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| AppError::Internal(e.to_string()))
        })
        .await
    }

    /// Whether `password` matches `hash` (with the cost stored in the hash).
    pub async fn verify(&self, password: String, hash: String) -> Result<bool> {
        self.pooled(move |hasher| {
            // An unparsable hash (an erased account) matches no password.
            Ok(PasswordHash::new(&hash)
                .is_ok_and(|parsed| hasher.verify_password(password.as_bytes(), &parsed).is_ok()))
        })
        .await
    }

    /// Costs what checking a password against a real hash costs, for a
    /// login whose account does not exist (so timing does not tell).
    pub async fn verify_nothing(&self, password: String) -> Result<bool> {
        self.pooled(move |hasher| {
            let salt = SaltString::encode_b64(&[0u8; 16])
                .map_err(|e| AppError::Internal(e.to_string()))?;
            let _ = hasher.hash_password(password.as_bytes(), &salt);
            Ok(false)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let passwords = Passwords::new(64, 1).unwrap();
        let hash = passwords.hash("correct horse".into()).await.unwrap();
        assert!(
            passwords
                .verify("correct horse".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(!passwords.verify("wrong horse".into(), hash).await.unwrap());
    }
}
