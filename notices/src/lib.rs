//! Notices as events, delivered: the sweep that reads the time index hour by hour and asks each debt whose
//! time has come for its notices ([`sweep`]).

pub mod sweep;

pub use sweep::{sweep, SweepDeps, SweepReport};
