//! Importers of open data into the catalogue, run from the command line
//! (`consumact import …`), never as live calls: files in their sources'
//! own formats, read as streams, written idempotently.

mod countries;
pub mod edges;
pub mod gleif;
pub mod off;
pub mod wikidata;
