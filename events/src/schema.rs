//! JSON Schemas of the contract, generated from the Rust types. `docs/schemas/` holds the published copies;
//! a test fails when they drift from what these functions produce.

use schemars::{schema_for, Schema};

use crate::envelope::EventEnvelope;
use crate::payload::{
    ChargeAdded, DebtCreated, DebtDeleted, DebtUpdated, LegacyEventRedacted, PaymentDueSoon,
    PaymentMissed, PaymentRecorded, PlanAdopted, PromoEndingSoon, RateChanged, StatementRecorded,
    UserCreated, UserErased, UserUpdated,
};

/// Every published schema as `(file name, schema)`: the envelope, then each event type's `data`.
pub fn all() -> Vec<(&'static str, Schema)> {
    vec![
        ("envelope.schema.json", schema_for!(EventEnvelope)),
        ("UserCreated.data.schema.json", schema_for!(UserCreated)),
        ("UserUpdated.data.schema.json", schema_for!(UserUpdated)),
        ("DebtCreated.data.schema.json", schema_for!(DebtCreated)),
        ("DebtUpdated.data.schema.json", schema_for!(DebtUpdated)),
        ("DebtDeleted.data.schema.json", schema_for!(DebtDeleted)),
        (
            "PaymentRecorded.data.schema.json",
            schema_for!(PaymentRecorded),
        ),
        ("ChargeAdded.data.schema.json", schema_for!(ChargeAdded)),
        ("RateChanged.data.schema.json", schema_for!(RateChanged)),
        (
            "StatementRecorded.data.schema.json",
            schema_for!(StatementRecorded),
        ),
        (
            "PaymentDueSoon.data.schema.json",
            schema_for!(PaymentDueSoon),
        ),
        ("PaymentMissed.data.schema.json", schema_for!(PaymentMissed)),
        (
            "PromoEndingSoon.data.schema.json",
            schema_for!(PromoEndingSoon),
        ),
        ("PlanAdopted.data.schema.json", schema_for!(PlanAdopted)),
        ("UserErased.data.schema.json", schema_for!(UserErased)),
        (
            "LegacyEventRedacted.data.schema.json",
            schema_for!(LegacyEventRedacted),
        ),
    ]
}

/// A schema as it is written to `docs/schemas/`: pretty JSON with a trailing newline.
pub fn render(schema: &Schema) -> String {
    let mut text = serde_json::to_string_pretty(schema).expect("a schema is always serialisable");
    text.push('\n');
    text
}
