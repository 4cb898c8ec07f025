//! Notices as events, delivered: the sweep that reads the time index hour by hour and asks each debt whose
//! time has come for its notices ([`sweep`]), and the consumer that emails them to those who asked
//! ([`email`]).

pub mod email;
pub mod sweep;

pub use sweep::{sweep, SweepDeps, SweepReport};
