//! Measures the notice sweep (`make bench-notices`): seeds `--debts` open debts (default 100,000, owned by
//! 1,000 users) with their time-index entries as the projector writes them, `--due` of them (default 10,000)
//! with a reminder in one hour and the rest spread over the following weeks; runs the sweep of that hour and
//! reports notices per second, next to appending the same notices straight to as many other debts (no index,
//! no load, no decision) with the same concurrency: the ratio is what the sweep's reads and re-indexing cost.
//!
//!   notice-sweep [--debts 100000] [--due 10000] [--store sqlite,dynamodb]

use std::sync::Arc;
use std::time::Instant;

use bench::report::Row;
use bench::EngineName;
use chrono::{DateTime, TimeZone, Utc};
use clap::Parser;
use domain::Decider;
use events::{DebtTerms, EventEnvelope, EventPayload, PaymentDueSoon};
use futures_util::{stream, StreamExt};
use read_model::notices::{notice_entry, NoticeSettings};
use store::notice_index::{mark_swept, NoticeHour, NOTICE_SHARDS};
use store::{AppendRequest, Engine, Stores};
use uuid::Uuid;

/// Appends and writes at once while seeding, and the direct appends' concurrency: the sweep's own (every
/// shard of the hour at once, eight debts of each).
const CONCURRENCY: usize = NOTICE_SHARDS as usize * 8;
const OWNERS: usize = 1_000;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 100_000)]
    debts: usize,
    #[arg(long, default_value_t = 10_000)]
    due: usize,
    #[arg(
        long = "store",
        value_delimiter = ',',
        value_enum,
        default_value = "sqlite,dynamodb"
    )]
    engines: Vec<EngineName>,
}

/// When the debts were recorded (after December's due date, before January's closing) and when the sweep
/// runs: the morning three days before the 22 January due date of a statement closing on the 1st.
fn recorded() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 25, 12, 0, 0).unwrap()
}

fn sweep_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 19, 9, 30, 0).unwrap()
}

/// Debt `n`: a minimum of 250.00 a month; statements close on the 1st for the due debts, on another day of
/// the month for the rest (so their reminders fall on other days).
fn debt(n: usize, due: usize) -> EventEnvelope {
    let id = Uuid::new_v4().to_string();
    let owner = format!("owner{}", n % OWNERS);
    let EventPayload::DebtCreated(mut created) =
        integration_tests::debt_created(&id, &owner).payload
    else {
        unreachable!("a creation")
    };
    let statement_day = if n < due { 1 } else { 2 + (n % 27) as u8 };
    created.terms = DebtTerms {
        statement_day: Some(statement_day),
        ..DebtTerms::default()
    };
    EventEnvelope::new(
        &id,
        1,
        EventPayload::DebtCreated(created),
        recorded(),
        &owner,
        Uuid::new_v4(),
    )
}

/// Appends the debts, and with `indexed` their time-index entries as of the day after they were recorded.
async fn seed(engine: &Arc<dyn Engine>, debts: &[EventEnvelope], indexed: bool) {
    let settings = NoticeSettings::default();
    stream::iter(debts)
        .for_each_concurrent(CONCURRENCY, |event| {
            let engine = Arc::clone(engine);
            let settings = settings.clone();
            async move {
                engine
                    .append(AppendRequest::new(0, vec![event.clone()]))
                    .await
                    .unwrap();
                if !indexed {
                    return;
                }
                let EventPayload::DebtCreated(created) = &event.payload else {
                    unreachable!()
                };
                let state = domain::Debt::fold([&event.payload]);
                let domain::DebtState::Open(record) = &state.state else {
                    unreachable!()
                };
                assert_eq!(record.owner, created.owner);
                let entry = notice_entry(
                    &event.aggregate_id,
                    record,
                    &state.notices,
                    recorded().date_naive(),
                    &settings,
                    recorded() + chrono::Duration::days(1),
                )
                .expect("an open debt has a next notice");
                engine.put_item(&entry.to_item()).await.unwrap();
            }
        })
        .await;
}

/// The reminder the sweep appends to each due debt, appended straight to `debts`: the reference.
async fn append_directly(engine: &Arc<dyn Engine>, debts: &[EventEnvelope]) -> f64 {
    let started = Instant::now();
    stream::iter(debts)
        .for_each_concurrent(CONCURRENCY, |debt| {
            let engine = Arc::clone(engine);
            async move {
                let notice = EventPayload::PaymentDueSoon(PaymentDueSoon {
                    due_on: chrono::NaiveDate::from_ymd_opt(2027, 1, 22).unwrap(),
                    minimum_due: Some(rust_decimal::Decimal::new(25_000, 2)),
                    paid: rust_decimal::Decimal::new(0, 2),
                    days_before: 3,
                });
                let event = EventEnvelope::new(
                    &debt.aggregate_id,
                    2,
                    notice,
                    sweep_time(),
                    &debt.actor,
                    Uuid::new_v4(),
                );
                engine
                    .append(AppendRequest::new(1, vec![event]))
                    .await
                    .unwrap();
            }
        })
        .await;
    started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    assert!(args.due <= args.debts, "--due is at most --debts");
    println!(
        "{:<9} {:>8} {:>6} {:>10} {:>11} {:>12} {:>11}",
        "store", "debts", "due", "sweep ms", "notices/s", "direct ms", "notices/s"
    );
    for engine_name in args.engines {
        let engine = engine_name.open().await;
        let name = engine_name.name();
        let debts: Vec<EventEnvelope> = (0..args.debts).map(|n| debt(n, args.due)).collect();
        let reference: Vec<EventEnvelope> = (0..args.due).map(|n| debt(n, args.due)).collect();
        let seeding = Instant::now();
        seed(&engine, &debts, true).await;
        seed(&engine, &reference, false).await;
        eprintln!(
            "seeded {} debts on {name} in {:.1} s",
            args.debts + args.due,
            seeding.elapsed().as_secs_f64()
        );

        // Every hour before the reminder's is finished: the sweep reads that one hour, as a run does.
        let hour = NoticeHour::containing(sweep_time());
        mark_swept(engine.as_ref(), hour.before(1)).await.unwrap();
        let deps = notices::SweepDeps::new(&Stores::of(Arc::clone(&engine)));
        let started = Instant::now();
        let report = notices::sweep(&deps, sweep_time(), Uuid::new_v4())
            .await
            .unwrap();
        let sweep_seconds = started.elapsed().as_secs_f64();
        assert_eq!(
            (report.hours, report.entries as usize),
            (1, args.due),
            "{report:?}"
        );
        assert_eq!(
            report.notices as usize, args.due,
            "one reminder per due debt: {report:?}"
        );
        let direct_seconds = append_directly(&engine, &reference).await;

        let sweep_rate = args.due as f64 / sweep_seconds;
        let direct_rate = args.due as f64 / direct_seconds;
        println!(
            "{name:<9} {:>8} {:>6} {:>10.0} {:>11.0} {:>12.0} {:>11.0}",
            args.debts,
            args.due,
            sweep_seconds * 1000.0,
            sweep_rate,
            direct_seconds * 1000.0,
            direct_rate
        );
        Row {
            figure: &format!("notice sweep on {name}, {} due of {} debts", args.due, args.debts),
            goal: "an hour's notices swept in under 15 minutes; at most 6x the cost of appending them directly",
            value: format!("{sweep_rate:.0} notices/s"),
            reference: format!("appended directly: {direct_rate:.0} notices/s"),
            ratio: direct_rate / sweep_rate,
            met: sweep_seconds < 900.0 && direct_rate / sweep_rate <= 6.0,
        }
        .print();
    }
}
