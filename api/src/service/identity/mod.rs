//! Accounts: registering, signing in, passwords, confirmed addresses, profiles, and export and erasure of personal data.

pub mod auth;
pub mod confirmation;
pub mod email_token;
pub mod hashing;
pub mod password;
pub mod privacy;
pub mod profile;
