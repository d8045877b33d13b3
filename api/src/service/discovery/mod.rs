//! Finding campaigns and communities: recommendations and full-text search.

pub mod discover;
pub mod search;
