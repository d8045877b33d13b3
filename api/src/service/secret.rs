//! Secrets handed to clients (bearer tokens, mailed links, sponsor codes):
//! how they are made and how they are stored (a digest, never the secret).
//! A leaf: it imports no other module of the crate.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Hex SHA-256 of a secret handed to a client (bearer or mailed token).
pub(crate) fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// 256 random bits, URL-safe, after `prefix`.
pub(crate) fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_digest_is_hex_sha256() {
        let digest = token_digest("abc");
        assert_eq!(
            digest,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn random_tokens_differ_and_keep_their_prefix() {
        let (a, b) = (random_token("cst_"), random_token("cst_"));
        assert!(a.starts_with("cst_") && b.starts_with("cst_"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 43);
    }
}
