//! The shelf: products by barcode, their brands, and what they say of the
//! values people hold.

pub mod gtin;
pub mod product;
