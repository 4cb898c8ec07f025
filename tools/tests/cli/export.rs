//! The `export-events` binary as an analyst runs it, on a SQLite data directory: every line is a documented
//! envelope that validates against `docs/schemas/envelope.schema.json`, filters select exactly what they
//! say, bad arguments exit 2, and 100,000 events export with the same peak memory as 10,000.

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::support::run_tool;
use chrono::{DateTime, Duration, TimeZone, Utc};
use events::{
    AggregateType, ChargeAdded, ChargeKind, DebtChanges, DebtCreated, DebtDeleted, DebtUpdated,
    EventEnvelope, EventPayload, PaymentFrequency, PaymentRecorded, UserCreated,
};
use rust_decimal::Decimal;
use serde_json::Value;
use store::{AppendRequest, EventLog};
use store_sqlite::SqliteStore;
use uuid::Uuid;

const START: fn() -> DateTime<Utc> = || Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();

fn envelope(
    id: &str,
    version: u64,
    at: DateTime<Utc>,
    actor: &str,
    payload: EventPayload,
) -> EventEnvelope {
    EventEnvelope::new(id, version, payload, at, actor, Uuid::new_v4())
}

/// A data directory holding `users` users, each with debts of ten events (created, eight updates, deleted),
/// `debts` in all; the debt `n`'s events occur on day `n % 20` of November 2026. Returns every event.
async fn data_dir(users: usize, debts: usize) -> (PathBuf, Vec<EventEnvelope>) {
    let dir = std::env::temp_dir().join(format!("export-cli-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(dir.join("debts.sqlite")).unwrap();
    let mut all = Vec::new();
    let names: Vec<String> = (0..users).map(|u| format!("user{u}")).collect();
    for name in &names {
        let created = envelope(
            name,
            1,
            START(),
            name,
            EventPayload::UserCreated(UserCreated {
                username: name.clone(),
                email: format!("{name}@example.com").into(),
                full_name: "Exported User".into(),
            }),
        );
        store
            .append(AppendRequest::new(0, vec![created.clone()]))
            .await
            .unwrap();
        all.push(created);
    }
    for n in 0..debts {
        let owner = &names[n % users];
        let id = Uuid::new_v4().to_string();
        let day = START() + Duration::days((n % 20) as i64);
        let mut history = vec![envelope(
            &id,
            1,
            day,
            owner,
            EventPayload::DebtCreated(DebtCreated {
                owner: owner.clone(),
                debt_name: format!("Debt {n}").into(),
                principal: Decimal::new(1_000_000 + n as i64, 2),
                interest_rate: Decimal::new(1999, 2),
                start_date: day.date_naive(),
                payment_frequency: PaymentFrequency::Monthly,
                current_balance: Decimal::new(900_000, 2),
                creditor: Some("Bank".into()),
                minimum_payment: None,
                terms: Default::default(),
            }),
        )];
        for v in 2..10 {
            let changes = DebtChanges {
                current_balance: Some(Decimal::new(900_000 - v as i64 * 1000, 2)),
                ..DebtChanges::default()
            };
            let at = day + Duration::minutes(v as i64);
            // Money moves at versions 4 and 6; every other change is an update.
            let payload = match v {
                4 => EventPayload::PaymentRecorded(PaymentRecorded {
                    amount: Decimal::new(10_000, 2),
                    paid_on: day.date_naive(),
                    note: None,
                }),
                6 => EventPayload::ChargeAdded(ChargeAdded {
                    amount: Decimal::new(2_500, 2),
                    charged_on: day.date_naive(),
                    kind: ChargeKind::Fee,
                    note: Some("late".into()),
                }),
                _ => EventPayload::DebtUpdated(DebtUpdated { changes }),
            };
            history.push(envelope(&id, v, at, owner, payload));
        }
        let at = day + Duration::minutes(30);
        history.push(envelope(
            &id,
            10,
            at,
            owner,
            EventPayload::DebtDeleted(DebtDeleted { reason: None }),
        ));
        store
            .append(AppendRequest::new(0, history.clone()))
            .await
            .unwrap();
        all.extend(history);
    }
    (dir, all)
}

fn export(dir: &Path, args: &[&str]) -> (i32, String, String) {
    run_tool(env!("CARGO_BIN_EXE_export-events"), dir, args)
}

fn envelope_schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas/envelope.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the published schema is valid")
}

/// The event ids of an export's lines, after checking each line against the schema and the Rust type.
fn exported_ids(ndjson: &str, schema: &jsonschema::Validator) -> BTreeSet<Uuid> {
    ndjson
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).expect("each line is one JSON document");
            if let Err(error) = schema.validate(&value) {
                panic!("line does not match the published envelope: {error}\n{line}");
            }
            serde_json::from_value::<EventEnvelope>(value)
                .expect("a documented envelope")
                .event_id
        })
        .collect()
}

fn ids<'a>(events: impl IntoIterator<Item = &'a EventEnvelope>) -> BTreeSet<Uuid> {
    events.into_iter().map(|e| e.event_id).collect()
}

#[tokio::test]
async fn export_round_trips_and_filters_select_exactly() {
    let (dir, all) = data_dir(3, 40).await;
    let schema = envelope_schema();

    let (code, out, err) = export(&dir, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), all.len());
    assert_eq!(exported_ids(&out, &schema), ids(&all));
    assert!(err.contains(&format!("{} written", all.len())), "{err}");
    // Within an aggregate, lines are oldest first.
    let first_debt = &all[3].aggregate_id;
    let versions: Vec<u64> = out
        .lines()
        .map(|l| serde_json::from_str::<EventEnvelope>(l).unwrap())
        .filter(|e| &e.aggregate_id == first_debt)
        .map(|e| e.version)
        .collect();
    assert_eq!(versions, (1..=10).collect::<Vec<_>>());

    let (code, out, _) = export(&dir, &["--type", "UserCreated,DebtDeleted"]);
    assert_eq!(code, 0);
    let wanted = all.iter().filter(|e| {
        matches!(
            e.payload,
            EventPayload::UserCreated(_) | EventPayload::DebtDeleted(_)
        )
    });
    assert_eq!(exported_ids(&out, &schema), ids(wanted));
    let (code, out, err) = export(
        &dir,
        &["--type", "PaymentRecorded", "--type", "ChargeAdded"],
    );
    assert_eq!(code, 0, "{err}");
    let wanted = all.iter().filter(|e| {
        matches!(
            e.payload,
            EventPayload::PaymentRecorded(_) | EventPayload::ChargeAdded(_)
        )
    });
    let wanted = ids(wanted);
    assert!(!wanted.is_empty());
    assert_eq!(exported_ids(&out, &schema), wanted);

    // --since inclusive, --until exclusive; a bare date is UTC midnight.
    let (code, out, _) = export(
        &dir,
        &["--since", "2026-11-03", "--until", "2026-11-05T00:00:00Z"],
    );
    assert_eq!(code, 0);
    let since = Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap();
    let until = Utc.with_ymd_and_hms(2026, 11, 5, 0, 0, 0).unwrap();
    let wanted: BTreeSet<Uuid> = ids(all
        .iter()
        .filter(|e| e.occurred_at >= since && e.occurred_at < until));
    assert!(!wanted.is_empty());
    assert_eq!(exported_ids(&out, &schema), wanted);

    let output = dir.join("user1.ndjson");
    let (code, out, _) = export(
        &dir,
        &[
            "--user",
            "user1",
            "--type",
            "DebtCreated",
            "--output",
            output.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0);
    assert!(out.is_empty(), "with --output nothing goes to stdout");
    let written = std::fs::read_to_string(&output).unwrap();
    let wanted = all.iter().filter(|e| match &e.payload {
        EventPayload::DebtCreated(created) => created.owner == "user1",
        _ => false,
    });
    let wanted = ids(wanted);
    assert_eq!(wanted.len(), 13);
    assert_eq!(exported_ids(&written, &schema), wanted);
    let (_, out, _) = export(&dir, &["--user", "user1", "--type", "UserCreated"]);
    let users: Vec<EventEnvelope> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].aggregate_type, AggregateType::User);
    assert_eq!(users[0].aggregate_id, "user1");

    for bad in [
        vec!["--type", "DebtPaid"],
        vec!["--since", "yesterday"],
        vec!["--since", "2026-11-05", "--until", "2026-11-05"],
        vec!["--store", "mysql"],
        vec!["--user"],
        vec!["--frobnicate"],
    ] {
        let (code, out, err) = export(&dir, &bad);
        assert_eq!(code, 2, "{bad:?}: {err}");
        assert!(out.is_empty() && !err.is_empty(), "{bad:?}");
    }
}

fn peak_rss_mib(stderr: &str) -> f64 {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("export: peak RSS"))
        .unwrap_or_else(|| panic!("no peak RSS line in {stderr}"));
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

#[tokio::test]
async fn one_hundred_thousand_events_export_in_the_memory_of_ten_thousand() {
    let (small, _) = data_dir(10, 1_000).await;
    let (large, all) = data_dir(100, 10_000).await;
    assert_eq!(all.len(), 100_100);

    let (code, _, small_err) = export(
        &small,
        &["--output", small.join("all.ndjson").to_str().unwrap()],
    );
    assert_eq!(code, 0, "{small_err}");
    let file = large.join("all.ndjson");
    let (code, _, large_err) = export(&large, &["--output", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{large_err}");
    let (small_peak, large_peak) = (peak_rss_mib(&small_err), peak_rss_mib(&large_err));
    println!("peak RSS: 10,010 events {small_peak:.1} MiB, 100,100 events {large_peak:.1} MiB");
    // Ten times the events, a few MiB more at most (SQLite's page cache warming up); holding the export in
    // memory would add tens of MiB.
    assert!(
        large_peak < small_peak + 8.0,
        "{small_peak} MiB -> {large_peak} MiB"
    );

    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(exported_ids(&written, &envelope_schema()), ids(&all));
}

/// `--sealed` writes personal fields as the store holds them (what the bus carries and the lake keeps),
/// decrypting nothing; without it an export opens them, as an access request needs.
#[tokio::test]
async fn sealed_exports_carry_ciphertext_and_never_the_clear_text() {
    let dir = std::env::temp_dir().join(format!("export-sealed-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let opened = tools::cli::StoreArgs {
        kind: tools::cli::StoreKind::Sqlite,
        data_dir: dir.clone(),
        table: "debts".into(),
        create_table: false,
    }
    .open()
    .await
    .unwrap();
    let created = envelope(
        "sealy",
        1,
        START(),
        "sealy",
        EventPayload::UserCreated(UserCreated {
            username: "sealy".into(),
            email: "sealy@example.com".into(),
            full_name: "Clear Name".into(),
        }),
    );
    opened
        .stores
        .events
        .append(AppendRequest::new(0, vec![created]))
        .await
        .unwrap();
    drop(opened);

    let (code, clear, err) = export(&dir, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        clear.contains("Clear Name") && clear.contains("sealy@example.com"),
        "{clear}"
    );

    let (code, sealed, err) = export(&dir, &["--sealed"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !sealed.contains("Clear Name") && !sealed.contains("sealy@example.com"),
        "{sealed}"
    );
    let line: Value = serde_json::from_str(sealed.trim()).unwrap();
    for field in ["email", "full_name"] {
        let value = &line["data"][field];
        assert!(
            value["enc"].is_string() && value["kid"] == "sealy",
            "{field}: {value}"
        );
    }
    assert_eq!(exported_ids(&sealed, &envelope_schema()).len(), 1);
}
