//! The analytics consumer on both engines: a scripted history's portfolio figures and daily counters equal
//! what this test computes from the same script on its own, and stay equal when every event is delivered
//! twice, in shuffled order, and replayed. Also the Pipe enrichment's envelopes from DynamoDB Local's real
//! stream. Test names say the engine: `sqlite::...`, `dynamodb::...`.

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use events::{
    ChargeAdded, ChargeKind, DebtChanges, DebtCreated, DebtDeleted, DebtUpdated, EventEnvelope,
    EventPayload, PaymentFrequency, PaymentRecorded, UserCreated,
};
use integration_tests::api::{ApiRequest, ApiResponse};
use integration_tests::handlers::{call, handlers_over};
use integration_tests::projection::{drain, stream_poller};
use integration_tests::{dynamodb_store, on_every_engine, sqlite_store, Lcg};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};
use store::{AppendRequest, Engine, Stores};
use uuid::Uuid;

type Store = Arc<dyn Engine>;

/// The test's own model of a debt: updated from the script's decisions, never from the code under test.
#[derive(Clone)]
struct ModelDebt {
    owner: String,
    balance: Decimal,
    principal: Decimal,
    rate: Decimal,
    frequency: PaymentFrequency,
    deleted: bool,
    paid_off: bool,
    /// Every payment as (paid_on, amount).
    payments: Vec<(NaiveDate, Decimal)>,
    /// Every charge of interest as (charged_on, amount).
    interest: Vec<(NaiveDate, Decimal)>,
}

struct Script {
    users: Vec<String>,
    /// Every event in commit order.
    events: Vec<EventEnvelope>,
    debts: BTreeMap<String, ModelDebt>,
}

fn event(
    aggregate_id: &str,
    version: u64,
    at: DateTime<Utc>,
    actor: &str,
    payload: EventPayload,
) -> EventEnvelope {
    EventEnvelope::new(aggregate_id, version, payload, at, actor, Uuid::new_v4())
}

/// Four users with six debts each, then 60 random updates, payments and charges and 5 deletions, spread over
/// three UTC days (the clock passes midnight twice).
fn script(seed: u64) -> Script {
    script_of(seed, 4, 65)
}

/// `users` users with six debts each, then `steps` random updates, payments, charges and statements, and a
/// deletion every 13th step (at most `steps / 13`), the clock moving 10-40 minutes between events.
fn script_of(seed: u64, user_count: usize, steps: usize) -> Script {
    let mut rng = Lcg(seed);
    let run = Uuid::new_v4().simple().to_string()[..8].to_owned();
    let mut clock = Utc.with_ymd_and_hms(2026, 11, 26, 20, 0, 0).unwrap();
    let mut tick = |rng: &mut Lcg| {
        clock += Duration::minutes(10 + rng.below(30) as i64);
        clock
    };
    let mut events = Vec::new();
    let mut debts: BTreeMap<String, ModelDebt> = BTreeMap::new();
    let mut versions: HashMap<String, u64> = HashMap::new();
    let users: Vec<String> = (0..user_count).map(|i| format!("u{i}{run}")).collect();
    for user in &users {
        let payload = EventPayload::UserCreated(UserCreated {
            username: user.clone(),
            email: format!("{user}@example.com").into(),
            full_name: "Script User".into(),
        });
        events.push(event(user, 1, tick(&mut rng), user, payload));
        for _ in 0..6 {
            let id = Uuid::new_v4().to_string();
            let principal = rng.cents(10_000, 5_000_000);
            let model = ModelDebt {
                owner: user.clone(),
                principal,
                balance: Decimal::new(rng.below(principal.mantissa() as u64 + 1) as i64, 2),
                rate: Decimal::new(rng.below(300_000) as i64, 4),
                frequency: PaymentFrequency::ALL[rng.below(5) as usize],
                deleted: false,
                paid_off: false,
                payments: Vec::new(),
                interest: Vec::new(),
            };
            let payload = EventPayload::DebtCreated(DebtCreated {
                owner: user.clone(),
                debt_name: "Scripted".into(),
                principal: model.principal,
                interest_rate: model.rate,
                start_date: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
                payment_frequency: model.frequency,
                current_balance: model.balance,
                creditor: None,
                minimum_payment: None,
                terms: Default::default(),
            });
            events.push(event(&id, 1, tick(&mut rng), user, payload));
            versions.insert(id.clone(), 1);
            debts.insert(id, model);
        }
    }
    let ids: Vec<String> = debts.keys().cloned().collect();
    let mut deletions = 0;
    for step in 0..steps {
        let id = &ids[rng.below(ids.len() as u64) as usize];
        let debt = debts.get_mut(id).unwrap();
        if debt.deleted {
            continue;
        }
        let version = versions[id] + 1;
        let at = tick(&mut rng);
        let kind = rng.below(5);
        let payload = if step % 13 == 12 && deletions < steps / 13 {
            deletions += 1;
            debt.deleted = true;
            EventPayload::DebtDeleted(DebtDeleted { reason: None })
        } else if kind == 3 && !debt.paid_off && !debt.balance.is_zero() {
            // Every third payment clears the balance; paid_on is up to 40 days before it was recorded.
            let amount = if rng.below(3) == 0 {
                debt.balance
            } else {
                Decimal::new(1 + rng.below(debt.balance.mantissa() as u64) as i64, 2)
            };
            let paid_on = at.date_naive() - Duration::days(rng.below(40) as i64);
            debt.balance -= amount;
            debt.paid_off = debt.balance.is_zero();
            debt.payments.push((paid_on, amount));
            EventPayload::PaymentRecorded(PaymentRecorded {
                amount,
                paid_on,
                note: None,
            })
        } else if kind == 4 && step % 5 == 0 {
            statement(debt, at.date_naive(), &mut rng)
        } else if kind >= 3 {
            let amount = rng.cents(1, 50_000);
            debt.balance += amount;
            debt.paid_off = false;
            let kind = ChargeKind::ALL[rng.below(3) as usize];
            if kind == ChargeKind::Interest {
                debt.interest.push((at.date_naive(), amount));
            }
            EventPayload::ChargeAdded(ChargeAdded {
                amount,
                charged_on: at.date_naive(),
                kind,
                note: Some("scripted".into()),
            })
        } else {
            let mut changes = DebtChanges::default();
            match kind {
                0 => {
                    debt.balance =
                        Decimal::new(rng.below(debt.balance.mantissa() as u64 + 1) as i64, 2);
                    changes.current_balance = Some(debt.balance);
                    // A corrected balance above zero reopens a paid-off debt.
                    debt.paid_off &= debt.balance.is_zero();
                }
                1 => {
                    debt.rate = Decimal::new(rng.below(300_000) as i64, 4);
                    changes.interest_rate = Some(debt.rate);
                }
                _ => {
                    debt.frequency = PaymentFrequency::ALL[rng.below(5) as usize];
                    debt.principal += Decimal::new(100, 2);
                    changes.payment_frequency = Some(debt.frequency);
                    changes.principal = Some(debt.principal);
                }
            }
            EventPayload::DebtUpdated(DebtUpdated { changes })
        };
        let owner = debt.owner.clone();
        events.push(event(id, version, at, &owner, payload));
        versions.insert(id.clone(), version);
    }
    Script {
        users,
        events,
        debts,
    }
}

/// Adds an event of every type the random script does not write: for every 10th user a profile update and an
/// adopted plan; for every 10th debt still there a rate change and the three notices; and then `erased`
/// users who register and are erased (with the audit record erasure writes after it), owning nothing, so every
/// figure of the script's users stays as it was.
fn with_every_other_type(script: &mut Script, erased: usize) {
    let mut versions: HashMap<String, u64> = HashMap::new();
    for e in &script.events {
        versions.insert(e.aggregate_id.clone(), e.version);
    }
    let mut clock = script.events.last().unwrap().occurred_at;
    let mut next = |versions: &mut HashMap<String, u64>, id: &str, actor: &str, payload| {
        // Seconds apart, so the tail crosses midnight at most once, and every day it reaches also holds
        // the erased users' registrations, which the consumer counts.
        clock += Duration::seconds(1);
        let version = versions.get(id).copied().unwrap_or(0) + 1;
        versions.insert(id.to_owned(), version);
        event(id, version, clock, actor, payload)
    };
    let mut added = Vec::new();
    for user in script.users.iter().step_by(10) {
        let changes = events::UserChanges {
            time_zone: Some("Europe/Paris".into()),
            ..Default::default()
        };
        let update = EventPayload::UserUpdated(events::UserUpdated { changes });
        added.push(next(&mut versions, user, user, update));
        let plan = crate::event_bus::plan_adopted("any-debt");
        added.push(next(&mut versions, user, user, plan));
    }
    let day = NaiveDate::from_ymd_opt(2027, 1, 15).unwrap();
    for (id, debt) in script.debts.iter().step_by(10).filter(|(_, d)| !d.deleted) {
        let owner = debt.owner.clone();
        let payloads = [
            EventPayload::RateChanged(events::RateChanged {
                rate: debt.rate,
                effective_on: day,
                ends_on: None,
                kind: events::RateKind::Standard,
            }),
            EventPayload::PaymentDueSoon(events::PaymentDueSoon {
                due_on: day,
                minimum_due: Some(Decimal::new(2_500, 2)),
                paid: Decimal::ZERO,
                days_before: 3,
            }),
            EventPayload::PaymentMissed(events::PaymentMissed {
                due_on: day,
                minimum_due: Decimal::new(2_500, 2),
                paid: Decimal::ZERO,
            }),
            EventPayload::PromoEndingSoon(events::PromoEndingSoon {
                ends_on: day,
                days_before: 14,
                rate_after: Decimal::new(199_900, 4),
            }),
        ];
        for payload in payloads {
            added.push(next(&mut versions, id, &owner, payload));
        }
    }
    for n in 0..erased {
        let user = format!("gone{n}{}", &Uuid::new_v4().simple().to_string()[..8]);
        let payload = EventPayload::UserCreated(UserCreated {
            username: user.clone(),
            email: format!("{user}@example.com").into(),
            full_name: "Erased User".into(),
        });
        added.push(next(&mut versions, &user, &user, payload));
        let payload = EventPayload::UserErased(events::UserErased::default());
        added.push(next(&mut versions, &user, &user, payload));
        let payload =
            EventPayload::LegacyEventRedacted(events::LegacyEventRedacted { events: Vec::new() });
        added.push(next(&mut versions, &user, &user, payload));
    }
    script.events.extend(added);
}

fn round(value: Decimal, places: u32) -> String {
    let mut value = value.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
    value.rescale(places);
    value.to_string()
}

/// A statement closing on `day` that books some interest and an adjustment (a credit half the time, when
/// the balance allows it): what the decider would append, in the model's terms.
fn statement(
    debt: &mut ModelDebt,
    day: NaiveDate,
    rng: &mut integration_tests::Lcg,
) -> EventPayload {
    let interest = rng.cents(1, 5_000);
    let mut adjustment = rng.cents(0, 3_000);
    if rng.below(2) == 0 && debt.balance + interest >= adjustment {
        adjustment = -adjustment;
    }
    let expected = debt.balance;
    let difference = interest + adjustment;
    debt.balance += difference;
    debt.paid_off &= debt.balance.is_zero();
    // As the contract says: a statement whose difference is zero books nothing.
    let mut booked = Vec::new();
    if !difference.is_zero() {
        debt.interest.push((day, interest));
        booked.push(events::BookedCharge {
            kind: events::BookedKind::Interest,
            amount: interest,
        });
    }
    if !adjustment.is_zero() && !difference.is_zero() {
        booked.push(events::BookedCharge {
            kind: events::BookedKind::Adjustment,
            amount: adjustment,
        });
    }
    EventPayload::StatementRecorded(events::StatementRecorded {
        closing_date: day,
        statement_balance: debt.balance,
        minimum_due: Decimal::ZERO,
        due_date: day + Duration::days(21),
        interest_charged: Some(interest),
        fees_charged: None,
        expected_balance: expected,
        difference,
        model_interest: Decimal::ZERO,
        booked,
    })
}

/// The summary the script's model says `user` should see today, as JSON.
fn expected_summary(script: &Script, user: &str) -> Value {
    let kept: Vec<&ModelDebt> = script
        .debts
        .values()
        .filter(|d| d.owner == user && !d.deleted)
        .collect();
    let open: Vec<&ModelDebt> = kept.iter().copied().filter(|d| !d.paid_off).collect();
    let today = Utc::now().date_naive();
    let payments = kept.iter().flat_map(|d| d.payments.iter());
    let total_paid: Decimal = payments.clone().map(|(_, amount)| *amount).sum();
    let paid_recently: Decimal = payments
        .filter(|(day, _)| *day > today - Duration::days(30) && *day <= today)
        .map(|(_, amount)| *amount)
        .sum();
    let balance: Decimal = open.iter().map(|d| d.balance).sum();
    let weighted: Decimal = open.iter().map(|d| d.balance * d.rate).sum();
    let mut by_frequency = serde_json::Map::new();
    for &frequency in PaymentFrequency::ALL {
        let of_kind: Vec<&&ModelDebt> = open.iter().filter(|d| d.frequency == frequency).collect();
        if !of_kind.is_empty() {
            let total: Decimal = of_kind.iter().map(|d| d.balance).sum();
            by_frequency.insert(
                frequency.as_str().into(),
                json!({"open_debts": of_kind.len(), "total_current_balance": round(total, 2)}),
            );
        }
    }
    json!({
        "username": user,
        "open_debts": open.len(),
        // The consumer never sees due dates: the summary's reader counts them from the debts' read items.
        "overdue_debts": 0,
        "total_current_balance": round(balance, 2),
        "total_principal": round(kept.iter().map(|d| d.principal).sum(), 2),
        "weighted_average_interest_rate":
            if balance.is_zero() { Value::Null } else { json!(round(weighted / balance, 4)) },
        "estimated_monthly_interest": round(weighted / Decimal::from(1200), 2),
        "by_payment_frequency": by_frequency,
        "total_paid": round(total_paid, 2),
        "paid_last_30_days": round(paid_recently, 2),
        "interest_by_month": interest_by_month(&kept, today),
    })
}

/// The interest charged on `debts` in each of the 12 months ending with `today`'s, oldest first.
fn interest_by_month(debts: &[&ModelDebt], today: NaiveDate) -> Value {
    let months: Vec<Value> = (0..12)
        .rev()
        .map(|back| {
            let month = today
                .checked_sub_months(chrono::Months::new(back))
                .unwrap()
                .format("%Y-%m")
                .to_string();
            let interest: Decimal = debts
                .iter()
                .flat_map(|d| d.interest.iter())
                .filter(|(day, _)| day.format("%Y-%m").to_string() == month)
                .map(|(_, amount)| *amount)
                .sum();
            json!({"month": month, "interest": round(interest, 2)})
        })
        .collect();
    Value::Array(months)
}

/// Per UTC day: how many events of each kind the script holds, and the amounts paid and charged.
#[derive(Default)]
struct DayFigures {
    counts: [u64; 7],
    paid: Decimal,
    charged: Decimal,
    interest: Decimal,
}

fn expected_counts(script: &Script) -> BTreeMap<NaiveDate, DayFigures> {
    let mut days: BTreeMap<NaiveDate, DayFigures> = BTreeMap::new();
    for e in &script.events {
        let day = days.entry(e.occurred_at.date_naive()).or_default();
        let slot = match &e.payload {
            EventPayload::UserCreated(_) => 0,
            EventPayload::DebtCreated(_) => 1,
            EventPayload::DebtUpdated(_) => 2,
            EventPayload::DebtDeleted(_) => 3,
            EventPayload::PaymentRecorded(payment) => {
                day.paid += payment.amount;
                4
            }
            EventPayload::ChargeAdded(charge) => {
                day.charged += charge.amount;
                if charge.kind == ChargeKind::Interest {
                    day.interest += charge.amount;
                }
                5
            }
            EventPayload::StatementRecorded(statement) => {
                day.charged += statement.difference;
                // The lender's interest is booked, whole, only when the difference is not zero.
                if !statement.difference.is_zero() {
                    day.interest += statement.interest_charged.unwrap_or_default();
                }
                6
            }
            EventPayload::UserErased(_)
            | EventPayload::LegacyEventRedacted(_)
            | EventPayload::RateChanged(_)
            | EventPayload::PaymentDueSoon(_)
            | EventPayload::PaymentMissed(_)
            | EventPayload::PromoEndingSoon(_)
            | EventPayload::UserUpdated(_)
            // No daily counter counts these.
            | EventPayload::PlanAdopted(_) => continue,
        };
        day.counts[slot] += 1;
    }
    days
}

/// Commits the script's events, one append per event, as the commands would.
/// Appends the script's events, and each user's credentials as their registration wrote them (what the
/// handlers require of a caller).
async fn commit(store: &Store, script: &Script) {
    for e in &script.events {
        store
            .append(AppendRequest::new(e.version - 1, vec![e.clone()]))
            .await
            .unwrap();
    }
    for user in &script.users {
        let credentials = store::Item {
            key: store::keys::credentials_key(user),
            attributes: integration_tests::attrs(json!({"password_hash": "unused"})),
        };
        store.put_item(&credentials).await.unwrap();
    }
}

async fn deliver(store: &Store, events: &[EventEnvelope]) {
    for e in events {
        integration_tests::lambdas::record_event(&Stores::of(Arc::clone(store)), e)
            .await
            .unwrap();
    }
}

async fn summary_over_http(store: &Store, caller: &str, asked: &str) -> ApiResponse {
    let request = ApiRequest::new(
        "GET /users/{username}/summary",
        format!("/users/{asked}/summary"),
    )
    .path_param("username", asked)
    .as_user(caller);
    let handlers = handlers_over(&Stores::of(Arc::clone(store)));
    call(&handlers, request).await
}

/// Every user's summary (through the HTTP handler) and every day's counters, as JSON.
async fn figures(store: &Store, script: &Script) -> Value {
    let mut summaries = serde_json::Map::new();
    for user in &script.users {
        let response = summary_over_http(store, user, user).await;
        assert_eq!(response.status, 200, "{}", response.body);
        summaries.insert(user.clone(), response.body["data"].clone());
    }
    let mut days = serde_json::Map::new();
    for day in expected_counts(script).keys() {
        let counts = analytics::daily_counts(store.as_ref(), *day).await.unwrap();
        days.insert(day.to_string(), serde_json::to_value(counts).unwrap());
    }
    json!({"summaries": summaries, "days": days})
}

fn expected_figures(script: &Script) -> Value {
    let summaries: serde_json::Map<String, Value> = script
        .users
        .iter()
        .map(|u| (u.clone(), expected_summary(script, u)))
        .collect();
    let days: serde_json::Map<String, Value> = expected_counts(script)
        .into_iter()
        .map(|(day, figures)| {
            let [users, created, updated, deleted, payments, charges, statements] = figures.counts;
            (
                day.to_string(),
                json!({"day": day, "users_created": users, "debts_created": created,
                       "debts_updated": updated, "debts_deleted": deleted,
                       "payments_recorded": payments, "charges_added": charges,
                       "rates_changed": 0, "statements_recorded": statements, "users_erased": 0,
                       "paid_amount": round(figures.paid, 2),
                       "charged_amount": round(figures.charged, 2),
                       "interest_amount": round(figures.interest, 2)}),
            )
        })
        .collect();
    json!({"summaries": summaries, "days": days})
}

/// Events by id, as JSON: for comparing sets of events whatever their order.
fn by_id(events: &[EventEnvelope]) -> BTreeMap<Uuid, Value> {
    events
        .iter()
        .map(|e| (e.event_id, serde_json::to_value(e).unwrap()))
        .collect()
}

/// A shuffled copy of `events` with every event twice (Fisher-Yates with the script's generator).
fn twice_shuffled(events: &[EventEnvelope], seed: u64) -> Vec<EventEnvelope> {
    let mut rng = Lcg(seed);
    let mut all: Vec<EventEnvelope> = events.iter().chain(events).cloned().collect();
    for i in (1..all.len()).rev() {
        all.swap(i, rng.below(i as u64 + 1) as usize);
    }
    all
}

pub async fn figures_equal_the_scripts_own_arithmetic(store: Store) {
    let script = script(7);
    assert_eq!(
        expected_counts(&script).len(),
        3,
        "the script spans three days"
    );
    assert!(script.debts.values().any(|d| d.deleted));
    assert!(script.debts.values().any(|d| d.paid_off && !d.deleted));
    assert!(script
        .events
        .iter()
        .any(|e| matches!(e.payload, EventPayload::ChargeAdded(_))));
    assert!(script
        .events
        .iter()
        .any(|e| matches!(e.payload, EventPayload::StatementRecorded(_))));
    commit(&store, &script).await;

    deliver(&store, &script.events).await;
    let expected = expected_figures(&script);
    assert_eq!(figures(&store, &script).await, expected);

    // Redelivery of everything, twice and shuffled, and a replay of the log: nothing changes.
    deliver(&store, &twice_shuffled(&script.events, 11)).await;
    assert_eq!(figures(&store, &script).await, expected);
    deliver(&store, &script.events).await;
    assert_eq!(figures(&store, &script).await, expected);
}

pub async fn shuffled_duplicated_delivery_from_scratch_gives_the_same_figures(store: Store) {
    let script = script(23);
    commit(&store, &script).await;
    // Reordering puts updates before their creation and a deletion before the updates it follows.
    let delivery = twice_shuffled(&script.events, 5);
    let first_created = |id: &str| {
        delivery
            .iter()
            .position(|e| e.aggregate_id == id && e.version == 1)
            .unwrap()
    };
    assert!(delivery
        .iter()
        .enumerate()
        .any(|(i, e)| e.version > 1 && i < first_created(&e.aggregate_id)));
    deliver(&store, &delivery).await;
    assert_eq!(figures(&store, &script).await, expected_figures(&script));
}

pub async fn a_summary_is_only_for_its_owner(store: Store) {
    let script = script(3);
    commit(&store, &script).await;
    deliver(&store, &script.events).await;
    let (alice, bob) = (&script.users[0], &script.users[1]);
    let response = summary_over_http(&store, alice, bob).await;
    assert_eq!(response.status, 404, "{}", response.body);
    assert_eq!(response.body["type"], "/problems/not-found");
    assert!(!response.body.to_string().contains("open_debts"));
    // A user without debts gets zeros, not an error.
    let response = summary_over_http(&store, "nobody", "nobody").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body["data"]["open_debts"], 0);
    assert_eq!(response.body["data"]["total_current_balance"], "0.00");
}

/// The export on this engine: the whole log, then one user's debt events of one day, as NDJSON envelopes
/// that are the committed events; and the export replayed into the consumer leaves the figures unchanged.
pub async fn the_export_is_the_log_and_backfills_a_consumer(store: Store) {
    use tools::export::{export, ExportFilter};
    let script = script(13);
    commit(&store, &script).await;
    deliver(&store, &script.events).await;
    let before = figures(&store, &script).await;

    let mut out = Vec::new();
    let done = export(
        store.as_ref(),
        store.as_ref(),
        &ExportFilter::default(),
        &mut out,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(done.events_written, script.events.len() as u64);
    let exported: Vec<EventEnvelope> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(by_id(&exported), by_id(&script.events));

    let user = &script.users[2];
    let day = Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap();
    let filter = ExportFilter {
        since: Some(day),
        until: Some(day + Duration::days(1)),
        types: vec!["DebtUpdated".into(), "DebtDeleted".into()],
        user: Some(user.clone()),
    };
    let mut out = Vec::new();
    export(store.as_ref(), store.as_ref(), &filter, &mut out, |_| {})
        .await
        .unwrap();
    let selected: Vec<EventEnvelope> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let expected: Vec<EventEnvelope> = script
        .events
        .iter()
        .filter(|e| {
            e.actor == *user
                && e.occurred_at.date_naive() == day.date_naive()
                && matches!(
                    e.payload,
                    EventPayload::DebtUpdated(_) | EventPayload::DebtDeleted(_)
                )
        })
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(by_id(&selected), by_id(&expected));

    // A backfill from the export changes nothing for a consumer that saw it all.
    deliver(&store, &exported).await;
    assert_eq!(figures(&store, &script).await, before);
}

on_every_engine!(sqlite: sqlite_store, dynamodb: dynamodb_store;
    figures_equal_the_scripts_own_arithmetic,
    shuffled_duplicated_delivery_from_scratch_gives_the_same_figures,
    the_export_is_the_log_and_backfills_a_consumer,
    a_summary_is_only_for_its_owner,
);

/// The publisher on DynamoDB Local's real stream: every event item's record becomes exactly the
/// committed envelope; the other items' records (credentials, read items, analytics' own) publish nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_the_publisher_reads_the_committed_envelopes_from_the_stream() {
    let table = integration_tests::dynamodb_table().await;
    let store: Store = Arc::new(table.clone());
    let script = script(41);
    commit(&store, &script).await;
    deliver(&store, &script.events[..10]).await;

    let mut poller = stream_poller(&table).await;
    let records = drain(&mut poller).await;
    let published = analytics::publish::envelopes(&records).unwrap();
    assert!(
        records.len() > published.len(),
        "other items' records were in the batch"
    );
    assert_eq!(published.len(), script.events.len());
    assert_eq!(by_id(&published), by_id(&script.events));
    // Within one aggregate, the stream (and so the bus, per shard) keeps commit order.
    let versions = |id: &str| -> Vec<u64> {
        published
            .iter()
            .filter(|e| e.aggregate_id == id)
            .map(|e| e.version)
            .collect()
    };
    let busiest = &script
        .events
        .iter()
        .max_by_key(|e| e.version)
        .unwrap()
        .aggregate_id;
    let in_order = versions(busiest);
    assert!(
        in_order.len() > 2 && in_order.windows(2).all(|w| w[0] < w[1]),
        "{in_order:?}"
    );
}

#[test]
fn amounts_in_the_script_parse_back() {
    // Guards the model's arithmetic helpers against a silent scale change.
    assert_eq!(round(Decimal::from_str("1.005").unwrap(), 2), "1.01");
    assert_eq!(round(Decimal::ZERO, 2), "0.00");
}

/// The records of a store, counting the items its queries return in the analytics consumer's copies.
struct CopiesRead {
    inner: Arc<dyn store::Records>,
    items: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl store::Records for CopiesRead {
    async fn get_item(&self, key: &store::ItemKey) -> store::StoreResult<Option<store::Item>> {
        self.inner.get_item(key).await
    }
    async fn put_item(&self, item: &store::Item) -> store::StoreResult<()> {
        self.inner.put_item(item).await
    }
    async fn replace_item_if(
        &self,
        item: &store::Item,
        field: &str,
        expected: &Value,
    ) -> store::StoreResult<bool> {
        self.inner.replace_item_if(item, field, expected).await
    }
    async fn delete_item(&self, key: &store::ItemKey) -> store::StoreResult<()> {
        self.inner.delete_item(key).await
    }
    async fn query(&self, query: &store::Query) -> store::StoreResult<store::Page<store::Item>> {
        let page = self.inner.query(query).await?;
        if query
            .target
            .pk
            .starts_with(store::keys::ANALYTICS_COPY_PK_PREFIX)
        {
            self.items
                .fetch_add(page.items.len(), std::sync::atomic::Ordering::SeqCst);
        }
        Ok(page)
    }
    async fn add_to_count(
        &self,
        key: &store::ItemKey,
        field: &str,
        delta: i64,
        expires_at: i64,
    ) -> store::StoreResult<i64> {
        self.inner.add_to_count(key, field, delta, expires_at).await
    }
    async fn increment_once(&self, count: &store::CountOnce<'_>) -> store::StoreResult<bool> {
        self.inner.increment_once(count).await
    }
}

/// Finding 7 of issue 30: each delivery of a debt event reread every copy of the debt to recompute its
/// contribution, so a debt's n events cost n(n+1)/2 copy reads (45,150 for 300). The fold reads only what it
/// has not folded: here at most two per event, and the contribution is the one its whole history gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_debts_events_cost_the_consumer_linear_work() {
    let store = sqlite_store().await;
    let counting = Arc::new(CopiesRead {
        inner: Arc::clone(&store) as Arc<dyn store::Records>,
        items: Default::default(),
    });
    let mut stores = Stores::of(Arc::clone(&store));
    stores.records = counting.clone();
    let (debt_id, owner) = (
        Uuid::new_v4().to_string(),
        format!("linear_{}", Uuid::new_v4().simple()),
    );
    let mut history = vec![integration_tests::debt_created(&debt_id, &owner)];
    for version in 2..=300 {
        history.push(integration_tests::envelope(
            &debt_id,
            version,
            EventPayload::PaymentRecorded(events::PaymentRecorded {
                amount: Decimal::new(1, 2),
                paid_on: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
                note: None,
            }),
        ));
    }
    for event in &history {
        integration_tests::lambdas::record_event(&stores, event)
            .await
            .unwrap();
    }
    let read = counting.items.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        read <= 2 * history.len(),
        "{read} copies read for {} events",
        history.len()
    );
    let expected = read_model::Contribution::read_item(&history).unwrap();
    let stored = store::read_item(store.as_ref(), &expected.key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 300);
    assert_eq!(stored.attributes, expected.attributes);
}

/// Runs lake/lake.py with the tools venv's Python (DuckDB is pinned there by the Makefile); its output.
fn lake(args: &[&str]) -> String {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = repo.join(".tools/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: `make tools` installs the lake's DuckDB",
        python.display()
    );
    let out = std::process::Command::new(python)
        .arg(repo.join("lake/lake.py"))
        .args(args)
        .output()
        .expect("lake.py runs");
    assert!(
        out.status.success(),
        "lake.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("lake.py writes UTF-8")
}

fn lake_rows(lake_dir: &str, query: &str) -> Vec<Value> {
    serde_json::from_str(&lake(&[
        "sql", "--lake", lake_dir, "--query", query, "--json",
    ]))
    .expect("a query's rows are JSON")
}

fn decimal(value: &Value) -> Decimal {
    match value {
        Value::String(text) => Decimal::from_str(text).expect("a decimal"),
        Value::Number(number) => Decimal::from_str(&number.to_string()).expect("a decimal"),
        other => panic!("not a decimal: {other}"),
    }
    .normalize()
}

/// The lake against the consumer and the API, on a generated workload of 1,000 users and over 20,000
/// events of every type: exported, written to Parquet by lake/lake.py and queried with lake/queries/, every
/// day's counts per type and its payments, charges and interest equal the analytics consumer's daily
/// counters (and, for the types it does not count, the script's own counts), and the balance outstanding by
/// payment frequency equals the sum of every user's summary, to the cent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_lakes_sql_equals_the_counters_and_the_summaries() {
    use tools::export::{export, ExportFilter};
    let store = sqlite_store().await;
    let mut script = script_of(31, 1_000, 14_500);
    with_every_other_type(&mut script, 20);
    assert!(script.events.len() >= 20_000, "{}", script.events.len());
    let types: std::collections::BTreeSet<&str> = script
        .events
        .iter()
        .map(|e| e.payload.event_type())
        .collect();
    assert_eq!(types.len(), EventPayload::TYPES.len(), "{types:?}");
    commit(&store, &script).await;
    deliver(&store, &script.events).await;

    let dir = std::env::temp_dir().join(format!("debts-lake-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let ndjson = dir.join("events.ndjson");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&ndjson).unwrap());
    export(
        store.as_ref(),
        store.as_ref(),
        &ExportFilter::default(),
        &mut file,
        |_| {},
    )
    .await
    .unwrap();
    drop(file);
    let lake_dir = dir.join("lake").display().to_string();
    let built: Value = serde_json::from_str(&lake(&[
        "build",
        "--lake",
        &lake_dir,
        "--ndjson",
        &ndjson.display().to_string(),
    ]))
    .unwrap();
    assert_eq!(built["added"], json!(script.events.len()));

    // The types the consumer counts; the others' counts are checked against the script itself.
    let counter_of = |event_type: &str| match event_type {
        "UserCreated" => Some("users_created"),
        "DebtCreated" => Some("debts_created"),
        "DebtUpdated" => Some("debts_updated"),
        "DebtDeleted" => Some("debts_deleted"),
        "PaymentRecorded" => Some("payments_recorded"),
        "ChargeAdded" => Some("charges_added"),
        "StatementRecorded" => Some("statements_recorded"),
        _ => None,
    };
    let mut from_lake: BTreeMap<String, serde_json::Map<String, Value>> = BTreeMap::new();
    let mut uncounted: BTreeMap<(String, String), u64> = BTreeMap::new();
    for row in lake_rows(&lake_dir, "events_per_type_per_day") {
        let day = row["event_date"].as_str().unwrap().to_owned();
        let event_type = row["event_type"].as_str().unwrap();
        match counter_of(event_type) {
            Some(field) => {
                from_lake
                    .entry(day)
                    .or_default()
                    .insert(field.into(), row["events"].clone());
            }
            None => {
                uncounted.insert((day, event_type.into()), row["events"].as_u64().unwrap());
            }
        }
    }
    let mut scripted: BTreeMap<(String, String), u64> = BTreeMap::new();
    for e in script
        .events
        .iter()
        .filter(|e| counter_of(e.payload.event_type()).is_none())
    {
        let key = (
            e.occurred_at.date_naive().to_string(),
            e.payload.event_type().into(),
        );
        *scripted.entry(key).or_default() += 1;
    }
    assert_eq!(uncounted, scripted);
    for row in lake_rows(&lake_dir, "money_per_day") {
        let day = from_lake
            .entry(row["event_date"].as_str().unwrap().to_owned())
            .or_default();
        for (field, column) in [
            ("paid_amount", "paid"),
            ("charged_amount", "charged"),
            ("interest_amount", "interest"),
        ] {
            day.insert(field.into(), json!(decimal(&row[column]).to_string()));
        }
    }
    let days = expected_counts(&script);
    assert_eq!(
        from_lake.len(),
        days.len(),
        "the lake has every day of the script"
    );
    for day in days.keys() {
        let counters =
            serde_json::to_value(analytics::daily_counts(store.as_ref(), *day).await.unwrap())
                .unwrap();
        for (field, value) in &from_lake[&day.to_string()] {
            let counted = &counters[field];
            if field.ends_with("_amount") {
                assert_eq!(
                    decimal(counted).to_string(),
                    *value.as_str().unwrap(),
                    "{day} {field}"
                );
            } else {
                assert_eq!(counted, value, "{day} {field}");
            }
        }
    }

    let mut summed: BTreeMap<String, (u64, Decimal)> = BTreeMap::new();
    for user in &script.users {
        let response = summary_over_http(&store, user, user).await;
        assert_eq!(response.status, 200, "{}", response.body);
        let by_frequency = response.body["data"]["by_payment_frequency"]
            .as_object()
            .unwrap()
            .clone();
        for (frequency, totals) in by_frequency {
            let entry = summed.entry(frequency).or_default();
            entry.0 += totals["open_debts"].as_u64().unwrap();
            entry.1 += decimal(&totals["total_current_balance"]);
        }
    }
    let lake_by_frequency: BTreeMap<String, (u64, Decimal)> =
        lake_rows(&lake_dir, "balance_by_payment_frequency")
            .iter()
            .map(|row| {
                (
                    row["payment_frequency"].as_str().unwrap().to_owned(),
                    (
                        row["open_debts"].as_u64().unwrap(),
                        decimal(&row["total_current_balance"]),
                    ),
                )
            })
            .collect();
    let summed: BTreeMap<String, (u64, Decimal)> = summed
        .into_iter()
        .map(|(f, (n, total))| (f, (n, total.normalize())))
        .collect();
    assert_eq!(lake_by_frequency, summed);
    std::fs::remove_dir_all(dir).unwrap();
}
