//! The analytics consumer: what one bus event does to the figures. Everything here is safe to repeat and
//! to receive in any order, because the bus delivers at least once and without order:
//!
//! - Daily counters: each event is counted with [`store::Records::increment_once`], whose marker per event id is
//!   written in the same transaction as the increment, so a redelivery counts nothing.
//! - Portfolio contributions: each debt event is first kept as the consumer's own copy (keyed by debt and
//!   version, so a repeat overwrites itself); the debt's fold (`read_model::ContributionFold`, stored beside
//!   the copies) then takes the copies after the version it holds, as long as they follow without a gap, and
//!   the contribution is written with the version guard of read items. Late or repeated events converge on
//!   the same item; an event arriving before its predecessors waits in the copies until they come. Each
//!   delivery reads only the copies not folded yet, so a debt's events cost linear work in all, not
//!   quadratic (each used to reread every copy).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::NaiveDate;
use events::{AggregateType, EventEnvelope, EventPayload};
use read_model::ContributionFold;
use rust_decimal::Decimal;
use store::{codec, keys, CountOnce, Item, Query, Records, StoreError, Stores};

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("an event envelope does not decode: {0}")]
    Decode(#[from] events::DecodeError),
}

/// The daily counter an event type adds to.
pub fn counter_field(payload: &EventPayload) -> &'static str {
    match payload {
        EventPayload::UserCreated(_) => "users_created",
        EventPayload::UserUpdated(_) => "users_updated",
        EventPayload::DebtCreated(_) => "debts_created",
        EventPayload::DebtUpdated(_) => "debts_updated",
        EventPayload::DebtDeleted(_) => "debts_deleted",
        EventPayload::PaymentRecorded(_) => "payments_recorded",
        EventPayload::ChargeAdded(_) => "charges_added",
        EventPayload::RateChanged(_) => "rates_changed",
        EventPayload::StatementRecorded(_) => "statements_recorded",
        EventPayload::PaymentDueSoon(_) => "payments_due_soon",
        EventPayload::PaymentMissed(_) => "payments_missed",
        EventPayload::PromoEndingSoon(_) => "promos_ending_soon",
        EventPayload::UserErased(_) => "users_erased",
        EventPayload::LegacyEventRedacted(_) => "legacy_redactions",
        EventPayload::PlanAdopted(_) => "plans_adopted",
    }
}

/// Fields of the day's amounts: whole cents, so the store adds integers and the sums stay exact.
const PAID_CENTS: &str = "paid_cents";
const CHARGED_CENTS: &str = "charged_cents";
/// The part of `charged_cents` that is interest: charges of kind `interest` and a statement's booked
/// interest.
const INTEREST_CENTS: &str = "interest_cents";

/// An event amount (two places, as every amount in an event) in whole cents.
fn cents(amount: Decimal) -> i64 {
    let mut amount = amount;
    amount.rescale(2);
    i64::try_from(amount.mantissa()).expect("amounts are below 10^12, far within i64 cents")
}

/// What one event adds to its day's counters: 1 to its type's count, and a payment's or charge's cents (a
/// statement's booked charges are charges: their sum, the difference, which a credit makes negative).
pub fn increments(payload: &EventPayload) -> Vec<(&'static str, i64)> {
    let mut increments = vec![(counter_field(payload), 1)];
    match payload {
        EventPayload::PaymentRecorded(payment) => {
            increments.push((PAID_CENTS, cents(payment.amount)))
        }
        EventPayload::ChargeAdded(charge) => {
            increments.push((CHARGED_CENTS, cents(charge.amount)));
            if charge.kind == events::ChargeKind::Interest {
                increments.push((INTEREST_CENTS, cents(charge.amount)));
            }
        }
        EventPayload::StatementRecorded(statement) => {
            increments.push((CHARGED_CENTS, cents(statement.difference)));
            let interest = statement
                .booked
                .iter()
                .filter(|b| b.kind == events::BookedKind::Interest)
                .map(|b| cents(b.amount))
                .sum::<i64>();
            if interest != 0 {
                increments.push((INTEREST_CENTS, interest));
            }
        }
        _ => {}
    }
    increments
}

/// What the `analytics` Lambda does with one bus event: reads the envelope in `detail` through the event
/// codec (so an older schema version still counts) and records it.
pub async fn handle_bus_event(
    stores: &Stores,
    event: EventBridgeEvent<serde_json::Value>,
) -> Result<(), AnalyticsError> {
    let envelope = codec::decode_envelope(event.detail)?;
    record_event(stores, &envelope).await
}

/// Applies one delivered event to the daily counters and, for a debt event, to its owner's portfolio.
pub async fn record_event(stores: &Stores, event: &EventEnvelope) -> Result<(), AnalyticsError> {
    let counted = stores
        .records
        .increment_once(&CountOnce {
            marker: &keys::counted_marker_key(&event.event_id.to_string()),
            counter: &keys::daily_counter_key(event.occurred_at.date_naive()),
            increments: &increments(&event.payload),
        })
        .await?;
    if event.aggregate_type == AggregateType::Debt {
        refresh_contribution(stores, event).await?;
    }
    if let EventPayload::LegacyEventRedacted(redacted) = &event.payload {
        redact_copies(stores.records.as_ref(), redacted).await?;
    }
    tracing::info!(
        event_id = %event.event_id,
        event_type = event.event_type(),
        counted,
        "analytics recorded"
    );
    let metric = if counted {
        "EventsCounted"
    } else {
        "EventsRedelivered"
    };
    lambda_support::metrics::count("analytics", metric, 1);
    Ok(())
}

/// Copies read per query while folding: most deliveries fold one.
const COPIES_PER_PAGE: u32 = 100;

/// Keeps the consumer's copy of a debt event, then folds the copies that follow the debt's fold without a gap
/// and rewrites its contribution. The contribution is written before the fold, so a crash between the two
/// only makes the next delivery fold again. Two deliveries folding at once each write a correct fold of the
/// copies they saw; one may leave an earlier version than the other, which costs the next delivery more
/// copies to read, never a wrong figure.
async fn refresh_contribution(
    stores: &Stores,
    event: &EventEnvelope,
) -> Result<(), AnalyticsError> {
    let records = stores.records.as_ref();
    let key = keys::analytics_copy_key(&event.aggregate_id, event.version);
    let copy = keeping_redactions(records, &key, event).await?;
    records
        .put_item(&Item {
            key,
            attributes: codec::encode_event(&copy).attributes,
        })
        .await?;
    // Read after our own write: whichever delivery writes the last missing copy folds up to it.
    let fold_key = keys::analytics_fold_key(&event.aggregate_id);
    let fold = stored_fold(records, &fold_key).await?;
    if fold.as_ref().map_or(0, ContributionFold::version) >= event.version {
        return Ok(());
    }
    let Some(fold) = fold_copies(records, &event.aggregate_id, fold).await? else {
        return Ok(());
    };
    stores.read_model.put_read_item(&fold.read_item()).await?;
    records
        .put_item(&Item {
            key: fold_key,
            attributes: codec::to_attributes(&fold.without_personal_fields()),
        })
        .await?;
    Ok(())
}

/// The debt's fold as the consumer stored it, if any.
async fn stored_fold(
    records: &dyn Records,
    key: &store::ItemKey,
) -> Result<Option<ContributionFold>, AnalyticsError> {
    let Some(item) = records.get_item(key).await? else {
        return Ok(None);
    };
    let fold = serde_json::from_value(serde_json::Value::Object(item.attributes)).map_err(|e| {
        StoreError::Corrupt {
            pk: key.pk.clone(),
            sk: key.sk.clone(),
            reason: format!("contribution fold: {e}"),
        }
    })?;
    Ok(Some(fold))
}

/// `fold` after the debt's copies that follow it without a gap, or `None` when none follows it.
async fn fold_copies(
    records: &dyn Records,
    debt_id: &str,
    mut fold: Option<ContributionFold>,
) -> Result<Option<ContributionFold>, AnalyticsError> {
    let folded = fold.as_ref().map_or(0, ContributionFold::version);
    let after = keys::analytics_copy_key(debt_id, folded);
    let mut query = Query::partition(&after.pk, keys::ANALYTICS_COPY_SK_PREFIX)
        .limit(COPIES_PER_PAGE)
        .after(Some(store::cursor::encode(&after)));
    let mut advanced = false;
    // Page by page, up to the first gap: copies past it wait for the delivery that fills it.
    'pages: loop {
        let page = records.query(&query).await?;
        for copy in page.items {
            let copy = codec::decode_event(copy)?;
            // Copies come in version order; stop at the first gap.
            if copy.version != fold.as_ref().map_or(0, ContributionFold::version) + 1 {
                break 'pages;
            }
            fold = match fold {
                None => ContributionFold::start(&copy),
                Some(fold) => Some(fold.apply(&copy)),
            };
            if fold.is_none() {
                // A first copy that is no creation: nothing to fold.
                return Ok(None);
            }
            advanced = true;
        }
        match page.next_cursor {
            Some(next) => query = query.after(Some(next)),
            None => break,
        }
    }
    Ok(fold.filter(|_| advanced))
}

/// `event` as its copy should be stored: an event written in clear before sealing (the only kind with clear
/// personal fields on the bus) keeps the `"[erased]"` its stored copy already has, so a late redelivery of
/// the original cannot undo a redaction. Sealed events need no read.
async fn keeping_redactions(
    records: &dyn Records,
    key: &store::ItemKey,
    event: &EventEnvelope,
) -> Result<EventEnvelope, AnalyticsError> {
    let mut copy = event.clone();
    let clear = |e: &mut EventEnvelope| {
        e.payload
            .personal_fields_mut()
            .into_iter()
            .any(|(_, field)| matches!(field, events::Personal::Clear(_)))
    };
    if !clear(&mut copy) {
        return Ok(copy);
    }
    let Some(stored) = records.get_item(key).await? else {
        return Ok(copy);
    };
    let mut stored = codec::decode_event(stored)?;
    let erased: Vec<&str> = stored
        .payload
        .personal_fields_mut()
        .into_iter()
        .filter(|(_, field)| field.shown() == events::ERASED)
        .map(|(name, _)| name)
        .collect();
    for (name, field) in copy.payload.personal_fields_mut() {
        if erased.contains(&name) {
            *field = events::Personal::from(events::ERASED);
        }
    }
    Ok(copy)
}

/// Rewrites the consumer's copies of events written in clear before sealing, as the erasure rewrote the
/// events themselves. Copies of sealed events need nothing: the erased key shreds them as it does the log.
async fn redact_copies(
    records: &dyn Records,
    redacted: &events::LegacyEventRedacted,
) -> Result<(), AnalyticsError> {
    for event in &redacted.events {
        if event.aggregate_type != AggregateType::Debt {
            continue;
        }
        let key = keys::analytics_copy_key(&event.aggregate_id, event.version);
        let Some(copy) = records.get_item(&key).await? else {
            continue;
        };
        let mut copy = codec::decode_event(copy)?;
        for (name, field) in copy.payload.personal_fields_mut() {
            if event.fields.iter().any(|f| f == name) {
                *field = events::Personal::from(events::ERASED);
            }
        }
        records
            .put_item(&Item {
                key,
                attributes: codec::encode_event(&copy).attributes,
            })
            .await?;
    }
    Ok(())
}

/// The global counters of one UTC day (by the events' `occurred_at`), as stored (missing fields are zero).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DailyCounts {
    pub day: NaiveDate,
    pub users_created: u64,
    pub debts_created: u64,
    pub debts_updated: u64,
    pub debts_deleted: u64,
    pub payments_recorded: u64,
    pub charges_added: u64,
    pub rates_changed: u64,
    pub statements_recorded: u64,
    pub users_erased: u64,
    /// The sum of the day's payments, exact (kept as cents).
    pub paid_amount: Decimal,
    /// The sum of the day's charges, exact (kept as cents): a statement adds its difference, which a credit
    /// makes negative.
    pub charged_amount: Decimal,
    /// The part of `charged_amount` that is interest (charges of kind `interest`, statements' booked
    /// interest).
    pub interest_amount: Decimal,
}

/// Reads the counters of `day`.
pub async fn daily_counts(
    records: &dyn Records,
    day: NaiveDate,
) -> Result<DailyCounts, AnalyticsError> {
    let attributes = records
        .get_item(&keys::daily_counter_key(day))
        .await?
        .map(|item| item.attributes)
        .unwrap_or_default();
    let field = |name: &str| attributes.get(name).and_then(|v| v.as_u64()).unwrap_or(0);
    let amount = |name: &str| {
        let cents = attributes.get(name).and_then(|v| v.as_i64()).unwrap_or(0);
        Decimal::new(cents, 2)
    };
    Ok(DailyCounts {
        day,
        users_created: field("users_created"),
        debts_created: field("debts_created"),
        debts_updated: field("debts_updated"),
        debts_deleted: field("debts_deleted"),
        payments_recorded: field("payments_recorded"),
        charges_added: field("charges_added"),
        rates_changed: field("rates_changed"),
        statements_recorded: field("statements_recorded"),
        users_erased: field("users_erased"),
        paid_amount: amount(PAID_CENTS),
        charged_amount: amount(CHARGED_CENTS),
        interest_amount: amount(INTEREST_CENTS),
    })
}
