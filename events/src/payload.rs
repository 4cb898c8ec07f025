//! The event types and their `data`. Amounts are decimal strings and dates ISO 8601, never floats.
//!
//! Readers are tolerant: a field this build does not know is ignored, so a newer writer's additive change
//! (which keeps the schema version) never breaks an older reader during a rolling deploy.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use schemars::{json_schema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize};
use strum::{IntoStaticStr, VariantNames};

use crate::names::snake_case_names;

use crate::envelope::AggregateType;
use crate::personal::Personal;

/// Amounts and rates are written as decimal strings (`"1234.50"`), so no consumer ever parses them as floats.
fn decimal_string(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
        "description": "A decimal number written as a string, e.g. \"1234.50\"."
    })
}

/// An optional amount: a decimal string, or `null` in an update when it was cleared.
fn nullable_decimal_string(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": ["string", "null"],
        "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
        "description": "A decimal number written as a string, e.g. \"1234.50\"; null when it was cleared."
    })
}

snake_case_names! {
    /// How often a debt is paid.
    pub enum PaymentFrequency in "payment_frequency" { Weekly, Biweekly, Monthly, Quarterly, Annually }
}

snake_case_names! {
    /// How the lender works out a cycle's interest (`docs/planning.md` has both rules with worked examples):
    /// `monthly`, the balance at the statement's closing times APR / 1200; `daily`, the average daily
    /// balance: each day's closing balance times that day's APR / 36500, summed over the cycle.
    pub enum InterestMethod in "interest_method" { Monthly, Daily }
}

/// A debt's terms with its lender, as a creation or an update states them; each absent field keeps its
/// default (or, in an update, its value). Added after the first release without a schema version change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DebtTerms {
    /// The day of the month a statement closes, 1-28; by default the start date's day (28 at most).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u8", range(min = 1, max = 28))]
    pub statement_day: Option<u8>,
    /// Days from a statement's closing to its due date, 1-90; by default 21, the least the US CARD Act
    /// allows for cards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u16", range(min = 1, max = 90))]
    pub due_days: Option<u16>,
    /// By default `monthly`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "InterestMethod")]
    pub interest_method: Option<InterestMethod>,
}

impl DebtTerms {
    pub fn is_empty(&self) -> bool {
        *self == DebtTerms::default()
    }
}

/// A user registered. The password never appears here: its hash lives only in the `CREDENTIALS` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserCreated {
    /// Lower-case username, 3-32 characters of `[a-z0-9_.-]`; also the aggregate id.
    pub username: String,
    /// Email address as the user typed it (uniqueness is case-insensitive). Personal: sealed.
    pub email: Personal,
    /// Personal: sealed.
    pub full_name: Personal,
}

snake_case_names! {
    /// The notices a user may hear of (`PUT /users/{u}/notifications`).
    pub enum NoticeKind in "kinds" { PaymentDueSoon, PaymentMissed, PromoEndingSoon }
}

/// How a user hears of their notices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationSettings {
    /// Days before a due date a reminder goes out: 1 to 5 distinct offsets of 0-60, largest first.
    pub offsets_days: Vec<u16>,
    /// Whether notices are also emailed.
    pub email: bool,
    /// The kinds the user hears of, in declaration order.
    pub kinds: Vec<NoticeKind>,
}

impl Default for NotificationSettings {
    /// A reminder 3 days before each due date, every kind, no email.
    fn default() -> Self {
        NotificationSettings {
            offsets_days: vec![3],
            email: false,
            kinds: NoticeKind::ALL.to_vec(),
        }
    }
}

/// A user's settings that an update changed, each with its new value; absent means unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserChanges {
    /// An IANA time zone name (`Europe/Paris`): the user's due dates end at midnight there. Every user's is
    /// `UTC` until they set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub time_zone: Option<String>,
    /// The whole notification settings, when they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "NotificationSettings")]
    pub notifications: Option<NotificationSettings>,
    /// The user's private calendar feed: the id of the one just issued (any earlier one stops working), or
    /// `null` when it was revoked. Only an id: the feed's token is never in an event (its hash is kept beside
    /// the events, removed with the feed).
    #[serde(
        default,
        deserialize_with = "present_value",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<uuid::Uuid>")]
    pub calendar_feed: Option<Option<uuid::Uuid>>,
}

/// Some of a user's settings changed. No personal field: a time zone is a setting, as coarse as a region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserUpdated {
    /// Only the settings that changed, with their new values.
    pub changes: UserChanges,
}

snake_case_names! {
    /// The order a payoff plan pays extra money in: highest rate first, smallest balance first, or the
    /// user's own.
    pub enum PlanStrategy in "strategy" { Avalanche, Snowball, Custom }
}

/// An amount in one month of a plan (`YYYY-MM`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MonthAmount {
    /// `YYYY-MM`.
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}$"))]
    pub month: String,
    /// A decimal string with at most 2 places; an extra may be negative (less paid that month).
    #[schemars(schema_with = "decimal_string")]
    pub amount: Decimal,
}

/// A user adopted a payoff plan (`PUT /users/{u}/plan`): its parameters, and the promise it made when
/// adopted, the projected total balance at each month's end until debt-free, so that later changes to the
/// debts never rewrite it. A later adoption supersedes it. No personal field: debts are named by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PlanAdopted {
    pub strategy: PlanStrategy,
    /// What is paid each month, a decimal string with 2 places.
    #[schemars(schema_with = "decimal_string")]
    pub monthly_budget: Decimal,
    /// The open debts' ids in the order the plan paid extra money to them when adopted.
    pub order: Vec<String>,
    /// The budget from a month on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub budget_changes: Vec<MonthAmount>,
    /// One-off amounts added to (or, negative, taken from) a month's budget.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<MonthAmount>,
    /// The plan's first month, `YYYY-MM`: the month after the one it was adopted in.
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}$"))]
    pub start: String,
    /// The open debts' total balance when the plan was adopted.
    #[schemars(schema_with = "decimal_string")]
    pub starting_total: Decimal,
    /// The projected total balance at the end of each of the plan's months, `start` first; the last is
    /// zero, in the month the plan promised to be debt-free.
    #[schemars(with = "Vec<String>")]
    pub planned_totals: Vec<Decimal>,
    /// The interest the plan projected, a decimal string with 2 places.
    #[schemars(schema_with = "decimal_string")]
    pub total_interest: Decimal,
}

/// A debt was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DebtCreated {
    /// Username of the debt's owner; never changes afterwards.
    pub owner: String,
    /// Personal: sealed.
    pub debt_name: Personal,
    /// Amount originally borrowed, a decimal string with at most 2 places, greater than zero.
    #[schemars(schema_with = "decimal_string")]
    pub principal: Decimal,
    /// Yearly interest rate in percent (`"5.25"` is 5.25 %), at most 4 decimal places.
    #[schemars(schema_with = "decimal_string")]
    pub interest_rate: Decimal,
    pub start_date: NaiveDate,
    pub payment_frequency: PaymentFrequency,
    /// Amount still owed, a decimal string with at most 2 places.
    #[schemars(schema_with = "decimal_string")]
    pub current_balance: Decimal,
    /// Who is owed, when the user said. Personal: sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creditor: Option<Personal>,
    /// The least due per payment period (`payment_frequency`), when the user said. Added after the first
    /// release without a schema version change: events written before it have no such field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "decimal_string")]
    pub minimum_payment: Option<Decimal>,
    /// Statement day, due days and interest method, when the user said (flat in `data`).
    #[serde(flatten)]
    pub terms: DebtTerms,
}

/// The mutable fields of a debt that an update changed, each with its new value; absent means unchanged.
/// `creditor: null` means the creditor was cleared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DebtChanges {
    /// Personal: sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debt_name: Option<Personal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "decimal_string")]
    pub principal: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "decimal_string")]
    pub interest_rate: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_frequency: Option<PaymentFrequency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "decimal_string")]
    pub current_balance: Option<Decimal>,
    /// Personal: sealed.
    #[serde(
        default,
        deserialize_with = "present_value",
        skip_serializing_if = "Option::is_none"
    )]
    pub creditor: Option<Option<Personal>>,
    /// `null` means the minimum payment was cleared. Absent from events written before it existed.
    #[serde(
        default,
        deserialize_with = "present_value",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "nullable_decimal_string")]
    pub minimum_payment: Option<Option<Decimal>>,
    /// The terms that changed (flat in `data`).
    #[serde(flatten)]
    pub terms: DebtTerms,
    /// With `current_balance`: the day the corrected balance holds from (the day it was recorded), so
    /// balances by effective date place it. Absent from corrections written before it existed, which count
    /// from the debt's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "NaiveDate")]
    pub balance_on: Option<NaiveDate>,
}

impl DebtChanges {
    pub fn is_empty(&self) -> bool {
        *self == DebtChanges::default()
    }
}

/// Tells a field that is present with `null` (`Some(None)`) from one that is absent (`None`).
fn present_value<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Some fields of a debt changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DebtUpdated {
    /// Only the fields that changed, with their new values; the previous values are in earlier events.
    pub changes: DebtChanges,
}

/// A debt was deleted. It is the debt's last event: nothing follows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DebtDeleted {
    /// Personal: sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Personal>,
}

/// A payment was made: the balance went down by `amount`. When it reached zero, the debt is paid off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentRecorded {
    /// Greater than zero and at most the balance before it, a decimal string with 2 places.
    #[schemars(schema_with = "decimal_string")]
    pub amount: Decimal,
    /// The day the money was paid, as the user said (never after the day it was recorded, never before the
    /// debt's `start_date`). The event's `occurred_at` is when it was recorded.
    pub paid_on: NaiveDate,
    /// Personal: sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Personal>,
}

snake_case_names! {
    /// Why a charge raised a debt's balance.
    pub enum ChargeKind in "kind" { Interest, Fee, Purchase }
}

/// Money was added to what is owed (interest, a fee, a purchase): the balance went up by `amount`. A paid-off
/// debt is open again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChargeAdded {
    /// Greater than zero, a decimal string with 2 places.
    #[schemars(schema_with = "decimal_string")]
    pub amount: Decimal,
    /// The day the charge was made, as the user said (never after the day it was recorded, never before the
    /// debt's `start_date`).
    pub charged_on: NaiveDate,
    pub kind: ChargeKind,
    /// Personal: sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Personal>,
}

snake_case_names! {
    /// What a step of a debt's rate schedule is: the lender's ordinary rate, an offer that ends, or a rate
    /// raised for a missed payment.
    pub enum RateKind in "kind" { Standard, Promotional, Penalty }
}

/// The lender's rate changes: from `effective_on` the debt accrues at `rate` (percent a year), through
/// `ends_on` when given; the day after it, the rate in force before this step applies again. Steps may lie in
/// the future (a promotion's announced end, a rate rise). No personal field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RateChanged {
    /// Percent a year, 0-100, a decimal string with at most 4 places.
    #[schemars(schema_with = "decimal_string")]
    pub rate: Decimal,
    /// The first day at this rate (never before the debt's `start_date`).
    pub effective_on: NaiveDate,
    /// The last day at this rate, when it ends (never before `effective_on`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_on: Option<NaiveDate>,
    pub kind: RateKind,
}

snake_case_names! {
    /// What a statement booked: the lender's interest, its fees, or the rest of the difference.
    pub enum BookedKind in "kind" { Interest, Fee, Adjustment }
}

/// One amount a statement booked to make the balance on its closing date equal the lender's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BookedCharge {
    pub kind: BookedKind,
    /// A decimal string with 2 places: above zero for interest and fees; an adjustment below zero is a
    /// credit.
    #[schemars(schema_with = "decimal_string")]
    pub amount: Decimal,
}

/// The lender's statement for the cycle closing on `closing_date`, reconciled: `expected_balance` is the
/// debt's balance by effective date on that day before it, and the charges in `booked` (dated
/// `closing_date`, summing to `difference`) make that balance `statement_balance`. Movements dated after
/// the closing stay on top. No personal field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StatementRecorded {
    /// The cycle's last day (never after the day it was recorded, never before an earlier statement's).
    pub closing_date: NaiveDate,
    /// What the lender says is owed at the closing.
    #[schemars(schema_with = "decimal_string")]
    pub statement_balance: Decimal,
    #[schemars(schema_with = "decimal_string")]
    pub minimum_due: Decimal,
    /// As the statement says, or the closing date plus the debt's `due_days`.
    pub due_date: NaiveDate,
    /// The interest the lender charged in the cycle, when the statement says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "decimal_string")]
    pub interest_charged: Option<Decimal>,
    /// The fees the lender charged in the cycle, when the statement says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "decimal_string")]
    pub fees_charged: Option<Decimal>,
    #[schemars(schema_with = "decimal_string")]
    pub expected_balance: Decimal,
    /// `statement_balance - expected_balance`.
    #[schemars(schema_with = "decimal_string")]
    pub difference: Decimal,
    /// The interest the debt's own method works out for the cycle, beside the lender's (never booked).
    #[schemars(schema_with = "decimal_string")]
    pub model_interest: Decimal,
    /// Empty when the difference is zero.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub booked: Vec<BookedCharge>,
}

/// A reminder that a payment falls due: `days_before` its due date (one of the owner's reminder offsets), when
/// less than the minimum has been paid in the cycle. At most one per debt, due date and offset. No personal
/// field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentDueSoon {
    pub due_on: NaiveDate,
    /// The least due by then; absent when the debt has no minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "decimal_string")]
    pub minimum_due: Option<Decimal>,
    /// What was paid in the cycle so far (after its closing).
    #[schemars(schema_with = "decimal_string")]
    pub paid: Decimal,
    pub days_before: u16,
}

/// A due date passed with less than its minimum paid in its cycle: the day after it, once per debt and due
/// date. No personal field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentMissed {
    pub due_on: NaiveDate,
    #[schemars(schema_with = "decimal_string")]
    pub minimum_due: Decimal,
    /// What was paid in the cycle (after its closing, through the due date).
    #[schemars(schema_with = "decimal_string")]
    pub paid: Decimal,
}

/// A promotional rate ends soon: `days_before` its last day (60, 30 or 7), once per debt, end and offset. No
/// personal field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PromoEndingSoon {
    /// The promotion's last day.
    pub ends_on: NaiveDate,
    pub days_before: u16,
    /// Percent a year from the day after `ends_on`, as the schedule stands.
    #[schemars(schema_with = "decimal_string")]
    pub rate_after: Decimal,
}

/// A user was erased at their own request: their data key, credentials and email reservation are gone, so
/// every personal field sealed under the key reads as `"[erased]"` from now on. It is the user's last event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserErased {
    /// Listed only by erasures written before issue 30: every debt the user ever created. No longer written
    /// (absent, or empty), since a user with about 10,000 debts passed DynamoDB's 400 KB item limit and could
    /// never be erased. A subscriber finds an erased user's debts by their owner, which each `DebtCreated`
    /// names; the projector reads them from the user's ledger.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub debt_ids: Vec<String>,
}

/// One event written before personal fields were sealed (schema version 1), whose personal fields an erasure
/// rewrote to `"[erased]"` in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RedactedEvent {
    pub aggregate_type: AggregateType,
    pub aggregate_id: String,
    pub version: u64,
    pub event_id: uuid::Uuid,
    /// The fields that were rewritten (`"debt_name"`, `"note"`, ...).
    pub fields: Vec<String>,
}

/// The audit record of the one exception to an append-only log: an erasure rewrote the personal fields of
/// events written in clear before sealing existed (no key can shred those). Written right after `UserErased`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LegacyEventRedacted {
    pub events: Vec<RedactedEvent>,
}

/// What happened: the event type and its data, serialised as `"event_type"` and `"data"`.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, IntoStaticStr, VariantNames,
)]
#[serde(tag = "event_type", content = "data")]
pub enum EventPayload {
    UserCreated(UserCreated),
    UserUpdated(UserUpdated),
    DebtCreated(DebtCreated),
    DebtUpdated(DebtUpdated),
    DebtDeleted(DebtDeleted),
    PaymentRecorded(PaymentRecorded),
    ChargeAdded(ChargeAdded),
    RateChanged(RateChanged),
    StatementRecorded(StatementRecorded),
    PaymentDueSoon(PaymentDueSoon),
    PaymentMissed(PaymentMissed),
    PromoEndingSoon(PromoEndingSoon),
    UserErased(UserErased),
    LegacyEventRedacted(LegacyEventRedacted),
    PlanAdopted(PlanAdopted),
}

impl EventPayload {
    /// Every event type's name, in the order of the enum (the variants' names, as serde writes them).
    pub const TYPES: &'static [&'static str] = <Self as VariantNames>::VARIANTS;

    /// The types without a personal field: the erasure's own records. Every other type's schema version 2
    /// sealed its personal fields.
    const WITHOUT_PERSONAL_FIELDS: [&'static str; 9] = [
        "UserUpdated",
        "PlanAdopted",
        "PaymentDueSoon",
        "PaymentMissed",
        "PromoEndingSoon",
        "UserErased",
        "LegacyEventRedacted",
        "RateChanged",
        "StatementRecorded",
    ];

    /// The types that carry personal fields, whose schema version 2 sealed them.
    pub fn sealing_types() -> impl Iterator<Item = &'static str> {
        Self::TYPES
            .iter()
            .copied()
            .filter(|t| !Self::WITHOUT_PERSONAL_FIELDS.contains(t))
    }

    pub fn event_type(&self) -> &'static str {
        self.into()
    }

    pub fn aggregate_type(&self) -> AggregateType {
        match self {
            EventPayload::UserCreated(_)
            | EventPayload::UserUpdated(_)
            | EventPayload::PlanAdopted(_)
            | EventPayload::UserErased(_)
            | EventPayload::LegacyEventRedacted(_) => AggregateType::User,
            _ => AggregateType::Debt,
        }
    }

    /// The schema version this build writes for an event type, or `None` for a type it does not know.
    /// Raise it (and register an upcaster from the old version) whenever a type's `data` changes shape.
    /// Version 2 of the types with personal fields seals them (see [`Personal`]).
    pub fn current_schema_version(event_type: &str) -> Option<u32> {
        if !Self::TYPES.contains(&event_type) {
            None
        } else if Self::WITHOUT_PERSONAL_FIELDS.contains(&event_type) {
            Some(1)
        } else {
            Some(2)
        }
    }

    /// The personal fields present in this event, by name, for sealing and opening. A cleared creditor
    /// (`creditor: null` in an update) has nothing to seal.
    pub fn personal_fields_mut(&mut self) -> Vec<(&'static str, &mut Personal)> {
        let mut fields: Vec<(&'static str, &mut Personal)> = Vec::new();
        match self {
            EventPayload::UserCreated(user) => {
                fields.push(("email", &mut user.email));
                fields.push(("full_name", &mut user.full_name));
            }
            EventPayload::DebtCreated(debt) => {
                fields.push(("debt_name", &mut debt.debt_name));
                fields.extend(debt.creditor.as_mut().map(|c| ("creditor", c)));
            }
            EventPayload::DebtUpdated(update) => {
                let changes = &mut update.changes;
                fields.extend(changes.debt_name.as_mut().map(|n| ("debt_name", n)));
                fields.extend(
                    changes
                        .creditor
                        .as_mut()
                        .and_then(Option::as_mut)
                        .map(|c| ("creditor", c)),
                );
            }
            EventPayload::DebtDeleted(deleted) => {
                fields.extend(deleted.reason.as_mut().map(|r| ("reason", r)));
            }
            EventPayload::PaymentRecorded(payment) => {
                fields.extend(payment.note.as_mut().map(|n| ("note", n)));
            }
            EventPayload::ChargeAdded(charge) => {
                fields.extend(charge.note.as_mut().map(|n| ("note", n)));
            }
            EventPayload::UserErased(_)
            | EventPayload::UserUpdated(_)
            | EventPayload::PlanAdopted(_)
            | EventPayload::LegacyEventRedacted(_)
            | EventPayload::RateChanged(_)
            | EventPayload::StatementRecorded(_)
            | EventPayload::PaymentDueSoon(_)
            | EventPayload::PaymentMissed(_)
            | EventPayload::PromoEndingSoon(_) => {}
        }
        fields
    }
}
