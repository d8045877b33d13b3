//! The shelf: products by barcode, their brands, and what they say of the
//! values people hold.

pub mod alternatives;
pub mod conflicts;
pub mod gtin;
pub mod ownership;
pub mod ownership_export;
pub mod product;
pub mod proposals;
