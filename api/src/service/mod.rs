//! Domain rules, one module per concept. Each public function is one use
//! case: it validates its input, checks who may do it, and runs in one
//! transaction. Nothing here knows about GraphQL or HTTP. Grouped by capability
//! (as the docs/ chapters are); the leaves at this level (`validate`,
//! `secret`, `viewer`, `source`) import only the foundation.

pub mod campaigns;
pub mod catalogue;
pub mod discovery;
pub mod fold;
pub mod fraud;
pub mod identity;
pub mod node;
pub mod notify;
pub mod observatory;
pub mod oversight;
pub mod producers;
pub mod secret;
pub mod signing;
pub mod source;
pub mod validate;
pub mod viewer;
