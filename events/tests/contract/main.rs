//! The event contract, one test binary: the envelope's JSON, the published schemas against the types (drift)
//! and against what the types write, and upcasting of stored old versions.

mod envelope_json;
mod schema_drift;
mod schema_validates_events;
mod upcast;
