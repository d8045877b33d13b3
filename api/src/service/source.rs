//! Where a signature came from, without keeping the address: the client
//! address is reduced to its network (/24 for IPv4, /64 for IPv6) and keyed
//! with HMAC-SHA-256 under the instance's source key, so moderators can see
//! that signatures share a network and act on them, but nobody (not even
//! with the database) can read the address back without the key.
//!
//! The key is `CONSUMACT_SOURCE_KEY`, or one generated once into
//! `<data dir>/source.key`. Instances sharing a database must share the key
//! (set the variable), or their keys for one network differ.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use anyhow::Context;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::config::Config;

/// The key sources are hashed under, keyed once.
pub struct SourceKeys {
    mac: Hmac<Sha256>,
}

impl SourceKeys {
    /// The configured key, or the data directory's, created when missing.
    pub fn load(config: &Config) -> anyhow::Result<Self> {
        if let Some(key) = config.source_key.as_deref().filter(|key| !key.is_empty()) {
            return Self::with_key(key.as_bytes());
        }
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("cannot create data directory {}", config.data_dir.display())
        })?;
        Self::with_key(&read_or_create(&config.data_dir.join("source.key"))?)
    }

    /// Keys under a fixed key, for unit tests.
    #[cfg(test)]
    pub fn for_tests() -> Self {
        Self::with_key(b"test key").expect("any key length works")
    }

    fn with_key(key: &[u8]) -> anyhow::Result<Self> {
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .map_err(|err| anyhow::anyhow!("unusable source key: {err}"))?;
        Ok(Self { mac })
    }

    /// A tag that proves the server wrote `data` for `purpose` (unsubscribe
    /// links): 32 hex digits of HMAC-SHA-256 under the same key.
    pub fn tag(&self, purpose: &str, data: &str) -> String {
        hex::encode(&self.tag_mac(purpose, data).finalize().into_bytes()[..TAG_BYTES])
    }

    /// Whether `tag` is the one [`tag`](Self::tag) makes for `purpose` and
    /// `data`, compared in constant time.
    pub fn verify_tag(&self, purpose: &str, data: &str, tag: &str) -> bool {
        let bytes: Option<Vec<u8>> = (tag.len() == TAG_BYTES * 2)
            .then(|| {
                (0..tag.len())
                    .step_by(2)
                    .map(|at| u8::from_str_radix(tag.get(at..at + 2)?, 16).ok())
                    .collect()
            })
            .flatten();
        bytes.is_some_and(|bytes| {
            self.tag_mac(purpose, data)
                .verify_truncated_left(&bytes)
                .is_ok()
        })
    }

    fn tag_mac(&self, purpose: &str, data: &str) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(data.as_bytes());
        mac
    }

    /// The keyed value of `ip`'s network.
    pub fn key_of(&self, ip: IpAddr) -> String {
        let mut mac = self.mac.clone();
        mac.update(network(ip).as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Bytes of a tag (half the HMAC: forging one is still out of reach).
const TAG_BYTES: usize = 16;

/// The key file's 32 random bytes (hex), written once: concurrent starts
/// agree, since only one creates the file and the others read it.
fn read_or_create(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(hex.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(hex.into_bytes())
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            // A racing start may still be writing it.
            for _ in 0..50 {
                let existing = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                if existing.trim().len() == 64 {
                    return Ok(existing.trim().as_bytes().to_vec());
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            anyhow::bail!("{} does not hold a source key", path.display())
        }
        Err(err) => Err(err).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// The network `ip` belongs to, as text: `a.b.c.0/24` or `x:x:x:x::/64`.
pub fn network(ip: IpAddr) -> String {
    match crate::net::address_key(ip) {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => format!("{v6}/64"),
    }
}

/// The domain of an address, lower-case.
pub fn email_domain(email: &str) -> Option<String> {
    email
        .rsplit_once('@')
        .map(|(_, domain)| domain.trim().to_lowercase())
        .filter(|domain| !domain.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(key: &str) -> SourceKeys {
        SourceKeys::with_key(key.as_bytes()).unwrap()
    }

    #[test]
    fn addresses_of_one_network_share_a_key_that_hides_them() {
        let keys = keys("test key");
        let a = keys.key_of("192.0.2.10".parse().unwrap());
        let b = keys.key_of("192.0.2.250".parse().unwrap());
        let other = keys.key_of("192.0.3.10".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(a.len(), 64);
        assert!(!a.contains("192"));
        let v6 = keys.key_of("2001:db8:1:2::1".parse().unwrap());
        assert_eq!(v6, keys.key_of("2001:db8:1:2:ffff::9".parse().unwrap()));
        assert_ne!(v6, keys.key_of("2001:db8:1:3::1".parse().unwrap()));
    }

    #[test]
    fn another_key_gives_other_values() {
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        assert_ne!(keys("one").key_of(ip), keys("two").key_of(ip));
    }

    #[test]
    fn networks_and_domains_read_as_expected() {
        assert_eq!(network("203.0.113.77".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(
            network("2001:db8:a:b:c::1".parse().unwrap()),
            "2001:db8:a:b::/64"
        );
        assert_eq!(
            email_domain("Ann@Example.ORG").as_deref(),
            Some("example.org")
        );
        assert_eq!(email_domain("nobody"), None);
    }

    #[test]
    fn the_key_file_is_made_once_and_then_read() {
        let dir = tempfile_dir();
        let path = dir.join("source.key");
        let first = read_or_create(&path).unwrap();
        let second = read_or_create(&path).unwrap();
        assert_eq!(first, second);
        let _ = std::fs::remove_dir_all(dir);
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("consumact-source-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
