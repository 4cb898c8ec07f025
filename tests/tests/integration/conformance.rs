//! The storage conformance suite: every operation of every role of the port (event log, read model, records),
//! run against each engine. Test names say the engine: `sqlite::...` and `dynamodb::...` (DynamoDB Local,
//! started by `make test`).

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use integration_tests::{
    attrs, debt_created, debt_ref, debt_updated, dynamodb_store, on_every_engine, sqlite_store,
    user_created, user_ref,
};
use serde_json::json;
use store::keys;
use store::{
    AggregateRef, AppendRequest, CountOnce, Engine, Item, ItemKey, Query, ReadItem, ReadItemKind,
    Scan, Segment, SortKeyMatch, StoreError, WriteOutcome,
};
use uuid::Uuid;

type Store = Arc<dyn Engine>;

fn new_id() -> String {
    Uuid::new_v4().to_string()
}

/// The registration transaction of the create-user command: the event, credentials and the email guard.
fn registration(username: &str, email: &str) -> AppendRequest {
    AppendRequest::new(0, vec![user_created(username, email)])
        .with_guard(
            "credentials",
            Item {
                key: keys::credentials_key(username),
                attributes: attrs(json!({"password_hash": "pbkdf2-sha256$600000$c2FsdA$aGFzaA"})),
            },
        )
        .with_guard(
            "email",
            Item {
                key: keys::email_guard_key(email),
                attributes: attrs(json!({"username": username})),
            },
        )
}

fn debt_item(owner: &str, debt_id: &str, version: u64, name: &str) -> ReadItem {
    ReadItem {
        key: keys::debt_read_key(owner, debt_id),
        version,
        deleted: false,
        attributes: attrs(json!({"debt_name": name, "owner": owner, "debt_id": debt_id})),
    }
}

/// Registers a user with a fresh username (and `{username}@example.com`), returning the username.
async fn register_new_user(store: &Store) -> String {
    let username = format!("u{}", &new_id()[..8]);
    store
        .append(registration(&username, &format!("{username}@example.com")))
        .await
        .unwrap();
    username
}

/// Creates debt `id` with two events: created, then updated.
async fn append_two_events(store: &Store, id: &str) {
    store
        .append(AppendRequest::new(
            0,
            vec![debt_created(id, "alice"), debt_updated(id, 2, 1)],
        ))
        .await
        .unwrap();
}

/// How many events the aggregate has.
async fn event_count(store: &Store, aggregate: &AggregateRef) -> usize {
    store.load_events(aggregate, 0).await.unwrap().len()
}

async fn all_pages(store: &Store, query: Query) -> Vec<ItemKey> {
    let mut keys = Vec::new();
    let mut cursor = None;
    for _ in 0..1000 {
        let page = store.query(&query.clone().after(cursor)).await.unwrap();
        assert!(
            page.items.len() <= query.limit as usize,
            "a page holds at most `limit` items"
        );
        keys.extend(page.items.into_iter().map(|item| item.key));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return keys,
        }
    }
    panic!("paging did not end");
}

pub async fn appended_events_load_back_in_order(store: Store) {
    let id = new_id();
    let first = vec![
        debt_created(&id, "alice"),
        debt_updated(&id, 2, 10),
        debt_updated(&id, 3, 10),
    ];
    store
        .append(AppendRequest::new(0, first.clone()))
        .await
        .unwrap();
    assert_eq!(store.load_events(&debt_ref(&id), 0).await.unwrap(), first);
    assert_eq!(
        store.load_events(&debt_ref(&id), 2).await.unwrap(),
        first[2..].to_vec()
    );
    assert!(store
        .load_events(&debt_ref(&id), 3)
        .await
        .unwrap()
        .is_empty());

    let fourth = debt_updated(&id, 4, 10);
    store
        .append(AppendRequest::new(3, vec![fourth.clone()]))
        .await
        .unwrap();
    let all = store.load_events(&debt_ref(&id), 0).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[3], fourth);
    assert!(event_count(&store, &debt_ref(&new_id())).await == 0);
}

pub async fn two_concurrent_appends_at_one_version_one_wins(store: Store) {
    for round in 0..10 {
        let id = new_id();
        store
            .append(AppendRequest::new(0, vec![debt_created(&id, "alice")]))
            .await
            .unwrap();
        let (a, b) = tokio::join!(
            store.append(AppendRequest::new(1, vec![debt_updated(&id, 2, 1)])),
            store.append(AppendRequest::new(1, vec![debt_updated(&id, 2, 2)])),
        );
        let (wins, conflicts): (Vec<_>, Vec<_>) = [a, b].into_iter().partition(Result::is_ok);
        assert_eq!(wins.len(), 1, "round {round}: exactly one append wins");
        assert!(
            matches!(&conflicts[0], Err(StoreError::VersionConflict { expected_version: 1, aggregate_id, .. }) if *aggregate_id == id),
            "round {round}: the loser gets a typed conflict, got {:?}",
            conflicts[0]
        );
        assert_eq!(event_count(&store, &debt_ref(&id)).await, 2);
    }
}

pub async fn a_stale_expected_version_is_a_conflict(store: Store) {
    let id = new_id();
    append_two_events(&store, &id).await;
    let stale = store
        .append(AppendRequest::new(1, vec![debt_updated(&id, 2, 5)]))
        .await;
    assert!(
        matches!(stale, Err(StoreError::VersionConflict { .. })),
        "{stale:?}"
    );
    let again = store
        .append(AppendRequest::new(0, vec![debt_created(&id, "mallory")]))
        .await;
    assert!(
        matches!(again, Err(StoreError::VersionConflict { .. })),
        "{again:?}"
    );
    let events = store.load_events(&debt_ref(&id), 0).await.unwrap();
    assert_eq!(events.len(), 2);
}

pub async fn a_malformed_append_is_refused_before_writing(store: Store) {
    let id = new_id();
    let gap = store
        .append(AppendRequest::new(
            0,
            vec![debt_created(&id, "alice"), debt_updated(&id, 3, 1)],
        ))
        .await;
    assert!(matches!(gap, Err(StoreError::InvalidRequest(_))), "{gap:?}");
    let empty = store.append(AppendRequest::new(0, vec![])).await;
    assert!(
        matches!(empty, Err(StoreError::InvalidRequest(_))),
        "{empty:?}"
    );
    assert!(event_count(&store, &debt_ref(&id)).await == 0);
}

/// 1,500 events of about 1.2 KB: the history is larger than one 1 MB DynamoDB Query page.
pub async fn a_history_longer_than_one_page_loads_complete(store: Store) {
    let id = new_id();
    let mut history = vec![debt_created(&id, "alice")];
    history.extend((2..=1500).map(|version| debt_updated(&id, version, 1000)));
    let bytes: usize = history
        .iter()
        .map(|e| serde_json::to_vec(e).unwrap().len())
        .sum();
    assert!(
        bytes > 1_100_000,
        "the history must exceed one page: {bytes} bytes"
    );
    for chunk in history.chunks(AppendRequest::MAX_ITEMS) {
        let expected = chunk[0].version - 1;
        store
            .append(AppendRequest::new(expected, chunk.to_vec()))
            .await
            .unwrap();
    }
    let loaded = store.load_events(&debt_ref(&id), 0).await.unwrap();
    assert_eq!(loaded.len(), 1500);
    assert!(
        loaded.iter().zip(1..).all(|(e, v)| e.version == v),
        "in version order"
    );
    assert_eq!(loaded, history);
    let tail = store.load_events(&debt_ref(&id), 1234).await.unwrap();
    assert_eq!(tail.first().map(|e| e.version), Some(1235));
    assert_eq!(tail.len(), 266);
    // A range reads exactly its versions, across a page boundary too; an empty one reads nothing.
    for (after, through) in [(0, 1), (10, 20), (100, 1400), (1490, 1600), (7, 7), (9, 3)] {
        let range = store
            .load_events_through(&debt_ref(&id), after, through)
            .await
            .unwrap();
        let expected: Vec<u64> = (after + 1..=through.min(1500)).collect();
        let versions: Vec<u64> = range.iter().map(|e| e.version).collect();
        assert_eq!(versions, expected, "after {after} through {through}");
    }
}

pub async fn registration_writes_event_credentials_and_email_guard_together(store: Store) {
    let username = format!("u{}", &new_id()[..8]);
    let email = format!("{username}@example.com");
    store.append(registration(&username, &email)).await.unwrap();
    assert_eq!(event_count(&store, &user_ref(&username)).await, 1);
    let credentials = store
        .get_item(&keys::credentials_key(&username))
        .await
        .unwrap()
        .expect("credentials written");
    assert!(credentials.attributes["password_hash"]
        .as_str()
        .unwrap()
        .starts_with("pbkdf2"));
    let guard = store
        .get_item(&keys::email_guard_key(&email))
        .await
        .unwrap()
        .expect("guard");
    assert_eq!(guard.attributes["username"], json!(username));
}

pub async fn a_taken_email_fails_the_whole_transaction_and_names_the_guard(store: Store) {
    let first = format!("u{}", &new_id()[..8]);
    let email = format!("{first}@example.com");
    store.append(registration(&first, &email)).await.unwrap();

    let second = format!("u{}", &new_id()[..8]);
    let taken = store.append(registration(&second, &email)).await;
    assert!(
        matches!(&taken, Err(StoreError::GuardTaken { name }) if name == "email"),
        "{taken:?}"
    );
    // Nothing of the failed registration is left behind.
    assert!(event_count(&store, &user_ref(&second)).await == 0);
    assert!(store
        .get_item(&keys::credentials_key(&second))
        .await
        .unwrap()
        .is_none());
    let guard = store
        .get_item(&keys::email_guard_key(&email))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        guard.attributes["username"],
        json!(first),
        "the first owner keeps the email"
    );
}

pub async fn a_taken_username_is_a_version_conflict_and_leaves_nothing(store: Store) {
    let username = register_new_user(&store).await;
    let other_email = format!("other-{username}@example.com");
    let taken = store.append(registration(&username, &other_email)).await;
    assert!(
        matches!(&taken, Err(StoreError::VersionConflict { aggregate_id, expected_version: 0, .. }) if *aggregate_id == username),
        "{taken:?}"
    );
    assert!(
        store
            .get_item(&keys::email_guard_key(&other_email))
            .await
            .unwrap()
            .is_none(),
        "the second email is not reserved by a failed registration"
    );
    assert_eq!(event_count(&store, &user_ref(&username)).await, 1);
}

pub async fn removals_go_with_the_events_or_not_at_all(store: Store) {
    let username = register_new_user(&store).await;
    let credentials = keys::credentials_key(&username);
    let never_written = ItemKey::new(format!("USER#{username}"), "NEVER");
    // A lost race removes nothing.
    let stale = AppendRequest::new(0, vec![user_created(&username, "x@example.com")])
        .with_removal(credentials.clone());
    assert!(matches!(
        store.append(stale).await,
        Err(StoreError::VersionConflict { .. })
    ));
    assert!(store.get_item(&credentials).await.unwrap().is_some());
    // With the next event, the item is gone; a missing one is no error.
    let mut next = user_created(&username, "x@example.com");
    next.version = 2;
    let append = AppendRequest::new(1, vec![next])
        .with_removal(credentials.clone())
        .with_removal(never_written);
    store.append(append).await.unwrap();
    assert!(store.get_item(&credentials).await.unwrap().is_none());
    assert_eq!(event_count(&store, &user_ref(&username)).await, 2);
    // An item is named once per append.
    let mut twice = user_created(&username, "x@example.com");
    twice.version = 3;
    let doubled = AppendRequest::new(2, vec![twice])
        .with_removal(keys::email_guard_key("x@example.com"))
        .with_removal(keys::email_guard_key("x@example.com"));
    assert!(matches!(
        store.append(doubled).await,
        Err(StoreError::InvalidRequest(_))
    ));
    // An event is never removed.
    let mut third = user_created(&username, "x@example.com");
    third.version = 3;
    let refused = AppendRequest::new(2, vec![third]).with_removal(keys::event_key(
        events::AggregateType::User,
        &username,
        1,
    ));
    assert!(matches!(
        store.append(refused).await,
        Err(StoreError::InvalidRequest(_))
    ));
}

pub async fn a_legacy_event_is_redacted_in_place_and_nothing_else_is(store: Store) {
    let id = new_id();
    // As written before sealing existed: schema version 1, personal fields in clear.
    let mut legacy = debt_created(&id, "alice");
    legacy.schema_version = 1;
    store
        .append(AppendRequest::new(0, vec![legacy.clone()]))
        .await
        .unwrap();
    let redaction = events::RedactedEvent {
        aggregate_type: events::AggregateType::Debt,
        aggregate_id: id.clone(),
        version: 1,
        event_id: legacy.event_id,
        fields: vec!["debt_name".into(), "creditor".into()],
    };
    // Another event's id at that key is refused.
    let mut wrong = redaction.clone();
    wrong.event_id = Uuid::new_v4();
    assert!(matches!(
        store.redact_legacy_event(&wrong).await,
        Err(StoreError::InvalidRequest(_))
    ));
    for _ in 0..2 {
        store.redact_legacy_event(&redaction).await.unwrap();
    }
    let [loaded] = store
        .load_events(&debt_ref(&id), 0)
        .await
        .unwrap()
        .try_into()
        .unwrap();
    let mut expected = legacy.clone();
    expected.schema_version = 2;
    let events::EventPayload::DebtCreated(created) = &mut expected.payload else {
        unreachable!()
    };
    created.debt_name = events::ERASED.into();
    created.creditor = Some(events::ERASED.into());
    assert_eq!(loaded, expected);
    let stored = store
        .get_item(&keys::event_key(events::AggregateType::Debt, &id, 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.attributes["schema_version"], json!(1));
    assert_eq!(stored.attributes["data"]["debt_name"], json!("[erased]"));
}

pub async fn an_older_read_item_write_is_ignored(store: Store) {
    let id = new_id();
    let key = keys::debt_read_key("alice", &id);
    assert_eq!(
        store
            .put_read_item(&debt_item("alice", &id, 2, "v2"))
            .await
            .unwrap(),
        WriteOutcome::Written
    );
    for (version, name) in [(1, "v1"), (2, "v2 again")] {
        assert_eq!(
            store
                .put_read_item(&debt_item("alice", &id, version, name))
                .await
                .unwrap(),
            WriteOutcome::Stale
        );
    }
    let stored = ReadItem::from_item(store.get_item(&key).await.unwrap().unwrap()).unwrap();
    assert_eq!(
        (stored.version, stored.attributes["debt_name"].clone()),
        (2, json!("v2"))
    );
    assert_eq!(
        store
            .put_read_item(&debt_item("alice", &id, 3, "v3"))
            .await
            .unwrap(),
        WriteOutcome::Written
    );
    let stored = ReadItem::from_item(store.get_item(&key).await.unwrap().unwrap()).unwrap();
    assert_eq!(stored, debt_item("alice", &id, 3, "v3"));
}

/// A new debt of alice's read item at version 2, named `name`: its id and key.
async fn alices_debt_at_version_2(store: &Store, name: &str) -> (String, ItemKey) {
    let id = new_id();
    let written = store.put_read_item(&debt_item("alice", &id, 2, name)).await;
    assert_eq!(written.unwrap(), WriteOutcome::Written);
    let key = keys::debt_read_key("alice", &id);
    (id, key)
}

pub async fn a_tombstone_is_never_revived(store: Store) {
    let (id, key) = alices_debt_at_version_2(&store, "live").await;
    let mut tombstone = debt_item("alice", &id, 3, "live");
    tombstone.deleted = true;
    assert_eq!(
        store.put_read_item(&tombstone).await.unwrap(),
        WriteOutcome::Written
    );
    for version in [2, 3, 4] {
        assert_eq!(
            store
                .put_read_item(&debt_item("alice", &id, version, "zombie"))
                .await
                .unwrap(),
            WriteOutcome::Stale,
            "a write at version {version} must not revive the tombstone"
        );
    }
    let stored = ReadItem::from_item(store.get_item(&key).await.unwrap().unwrap()).unwrap();
    assert!(stored.deleted);
    assert_eq!(stored.version, 3);
    let listed = store
        .query(&Query::partition(key.pk.clone(), "DEBT#"))
        .await
        .unwrap();
    assert!(listed.items.is_empty(), "queries never return tombstones");

    store.delete_read_item(&key).await.unwrap();
    assert!(store.get_item(&key).await.unwrap().is_none());
}

pub async fn cursors_page_a_prefix_without_gaps_or_repeats(store: Store) {
    let owner = format!("u{}", &new_id()[..8]);
    let mut live = BTreeSet::new();
    for n in 0..23 {
        let id = format!("{n:03}-{}", new_id());
        let mut item = debt_item(&owner, &id, 1, "debt");
        // Every fourth item is a tombstone: pages must skip them without losing their neighbours.
        item.deleted = n % 4 == 3;
        if !item.deleted {
            live.insert(item.key.clone());
        }
        store.put_read_item(&item).await.unwrap();
    }
    // Neighbours that must stay out: the same user's other items, and another user's debts.
    store
        .put_read_item(&ReadItem {
            key: keys::user_info_key(&owner),
            version: 1,
            deleted: false,
            attributes: attrs(json!({"full_name": "Owner"})),
        })
        .await
        .unwrap();
    store
        .put_read_item(&debt_item("zz-other", &new_id(), 1, "other"))
        .await
        .unwrap();

    let pk = keys::user_info_key(&owner).pk;
    for limit in [1, 5, 17, 100] {
        let ascending = all_pages(&store, Query::partition(&pk, "DEBT#").limit(limit)).await;
        assert_eq!(
            ascending,
            live.iter().cloned().collect::<Vec<_>>(),
            "limit {limit} ascending"
        );
        let descending = all_pages(
            &store,
            Query::partition(&pk, "DEBT#").limit(limit).descending(),
        )
        .await;
        assert_eq!(
            descending,
            live.iter().rev().cloned().collect::<Vec<_>>(),
            "limit {limit} descending"
        );
    }

    let first = store
        .query(&Query::partition(&pk, "DEBT#").limit(5))
        .await
        .unwrap();
    let cursor = first.next_cursor.expect("more pages");
    let foreign = store
        .query(&Query::partition("USER#zz-other", "DEBT#").after(Some(cursor)))
        .await;
    assert!(
        matches!(foreign, Err(StoreError::InvalidCursor)),
        "{foreign:?}"
    );
    let forged = store
        .query(&Query::partition(&pk, "DEBT#").after(Some("not-a-cursor".into())))
        .await;
    assert!(
        matches!(forged, Err(StoreError::InvalidCursor)),
        "{forged:?}"
    );
}

pub async fn aggregates_are_listed_once_across_scan_segments(store: Store) {
    let mut expected = BTreeSet::new();
    for _ in 0..6 {
        let id = new_id();
        append_two_events(&store, &id).await;
        expected.insert(debt_ref(&id));
    }
    for n in 0..3 {
        let username = format!("u{n}{}", &new_id()[..6]);
        store
            .append(registration(&username, &format!("{username}@example.com")))
            .await
            .unwrap();
        expected.insert(user_ref(&username));
    }
    // Read items are not aggregates.
    store
        .put_read_item(&debt_item("alice", &new_id(), 1, "x"))
        .await
        .unwrap();

    let list = |segment: Segment| {
        let store = Arc::clone(&store);
        async move {
            let mut found = Vec::<AggregateRef>::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = store
                    .list_aggregates(Scan {
                        segment,
                        cursor: cursor.as_deref(),
                    })
                    .await
                    .unwrap();
                found.extend(page.items);
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => return found,
                }
            }
        }
    };
    let whole = list(Segment::WHOLE).await;
    assert_eq!(
        whole.len(),
        expected.len(),
        "each aggregate once: {whole:?}"
    );
    assert_eq!(whole.into_iter().collect::<BTreeSet<_>>(), expected);

    let mut union = Vec::new();
    for index in 0..3 {
        union.extend(list(Segment { index, total: 3 }).await);
    }
    assert_eq!(union.len(), expected.len(), "segments do not overlap");
    assert_eq!(union.into_iter().collect::<BTreeSet<_>>(), expected);
}

pub async fn a_plain_item_is_replaced_but_events_are_refused(store: Store) {
    let username = register_new_user(&store).await;
    let upgraded = Item {
        key: keys::credentials_key(&username),
        attributes: attrs(json!({"password_hash": "pbkdf2-sha256$700000$bmV3$bmV3"})),
    };
    store.put_item(&upgraded).await.unwrap();
    assert_eq!(store.get_item(&upgraded.key).await.unwrap(), Some(upgraded));

    let event_key = keys::event_key(events::AggregateType::User, &username, 1);
    let overwrite = store
        .put_item(&Item {
            key: event_key,
            attributes: attrs(json!({"forged": true})),
        })
        .await;
    assert!(
        matches!(overwrite, Err(StoreError::InvalidRequest(_))),
        "{overwrite:?}"
    );
    assert_eq!(event_count(&store, &user_ref(&username)).await, 1);
}

/// An append that requires an item commits only while it exists: a missing one refuses the whole append
/// (nothing written, the requirement named), whatever else the append carries.
pub async fn a_required_item_must_exist_when_the_append_commits(store: Store) {
    let username = register_new_user(&store).await;
    let credentials = keys::credentials_key(&username);
    let debt = new_id();
    let required = AppendRequest::new(0, vec![debt_created(&debt, &username)])
        .with_requirement("account", credentials.clone());
    store.append(required).await.unwrap();
    assert_eq!(event_count(&store, &debt_ref(&debt)).await, 1);
    // Alone (one event: no plain put) and beside a tally.
    store.delete_item(&credentials).await.unwrap();
    let alone = AppendRequest::new(1, vec![debt_updated(&debt, 2, 1)])
        .with_requirement("account", credentials.clone());
    let refused = store.append(alone).await;
    assert!(
        matches!(&refused, Err(StoreError::RequirementMissing { name }) if name == "account"),
        "{refused:?}"
    );
    let other = new_id();
    let beside = AppendRequest::new(0, vec![debt_created(&other, &username)])
        .with_tally("debts", keys::user_info_key(&username), "live", 1, 10)
        .with_requirement("account", credentials.clone());
    assert!(matches!(
        store.append(beside).await,
        Err(StoreError::RequirementMissing { .. })
    ));
    assert_eq!(event_count(&store, &debt_ref(&debt)).await, 1);
    assert_eq!(event_count(&store, &debt_ref(&other)).await, 0);
    assert!(store
        .get_item(&keys::user_info_key(&username))
        .await
        .unwrap()
        .is_none());
    // An item is named once: not required and removed by the same append.
    let both = AppendRequest::new(1, vec![debt_updated(&debt, 2, 1)])
        .with_requirement("account", credentials.clone())
        .with_removal(credentials);
    assert!(matches!(
        store.append(both).await,
        Err(StoreError::InvalidRequest(_))
    ));
}

/// A conditional replacement writes only over the expected value: never a missing item (an erased user's
/// credentials are not recreated), never a changed one.
pub async fn a_conditional_replacement_needs_the_expected_value(store: Store) {
    let username = register_new_user(&store).await;
    let credentials = keys::credentials_key(&username);
    let stored = store.get_item(&credentials).await.unwrap().unwrap();
    let old = stored.attributes["password_hash"].clone();
    let upgraded = Item {
        key: credentials.clone(),
        attributes: attrs(json!({"password_hash": "pbkdf2-sha256$700000$bmV3$bmV3"})),
    };
    let stale = json!("pbkdf2-sha256$1$c3RhbGU$c3RhbGU");
    assert!(!store
        .replace_item_if(&upgraded, "password_hash", &stale)
        .await
        .unwrap());
    assert_eq!(store.get_item(&credentials).await.unwrap(), Some(stored));
    assert!(store
        .replace_item_if(&upgraded, "password_hash", &old)
        .await
        .unwrap());
    assert_eq!(
        store.get_item(&credentials).await.unwrap(),
        Some(upgraded.clone())
    );
    store.delete_item(&credentials).await.unwrap();
    let new_hash = upgraded.attributes["password_hash"].clone();
    assert!(!store
        .replace_item_if(&upgraded, "password_hash", &new_hash)
        .await
        .unwrap());
    assert_eq!(
        store.get_item(&credentials).await.unwrap(),
        None,
        "not recreated"
    );
}

pub async fn an_items_json_text_holds_its_attributes(store: Store) {
    let username = register_new_user(&store).await;
    let debt = debt_item(&username, &new_id(), 2, "as text");
    store.put_read_item(&debt).await.unwrap();
    let mut tombstone = debt_item(&username, &new_id(), 3, "gone");
    tombstone.deleted = true;
    store.put_read_item(&tombstone).await.unwrap();
    let keys = [
        debt.key.clone(),
        tombstone.key.clone(),
        keys::credentials_key(&username),
        keys::event_key(events::AggregateType::User, &username, 1),
    ];
    for key in keys {
        let text = store.read_item_json(&key).await.unwrap().expect("stored");
        let attributes: store::Attributes = serde_json::from_str(&text).expect("one JSON object");
        let item = store.get_item(&key).await.unwrap().expect("stored");
        assert_eq!(attributes, item.attributes, "{key:?}");
    }
    let read = ReadItem::from_item(Item {
        key: debt.key.clone(),
        attributes: serde_json::from_str(&store.read_item_json(&debt.key).await.unwrap().unwrap())
            .unwrap(),
    });
    assert_eq!(read, Some(debt), "the guard attributes are in the text");
    let missing = keys::debt_read_key(&username, &new_id());
    assert_eq!(store.read_item_json(&missing).await.unwrap(), None);
}

pub async fn repair_replaces_same_version_but_never_newer(store: Store) {
    let (id, key) = alices_debt_at_version_2(&store, "right").await;
    let read = |store: Store| {
        let key = key.clone();
        async move { ReadItem::from_item(store.get_item(&key).await.unwrap().unwrap()).unwrap() }
    };
    assert_eq!(
        store
            .repair_read_item(&debt_item("alice", &id, 2, "repaired"))
            .await
            .unwrap(),
        WriteOutcome::Written
    );
    assert_eq!(
        read(Arc::clone(&store)).await.attributes["debt_name"],
        json!("repaired")
    );
    assert_eq!(
        store
            .repair_read_item(&debt_item("alice", &id, 1, "older"))
            .await
            .unwrap(),
        WriteOutcome::Stale
    );
    let mut tombstone = debt_item("alice", &id, 3, "gone");
    tombstone.deleted = true;
    store.put_read_item(&tombstone).await.unwrap();
    assert_eq!(
        store
            .repair_read_item(&debt_item("alice", &id, 3, "revived"))
            .await
            .unwrap(),
        WriteOutcome::Stale,
        "a live item never repairs a tombstone"
    );
    tombstone.attributes = attrs(json!({"debt_name": "repaired tombstone"}));
    assert_eq!(
        store.repair_read_item(&tombstone).await.unwrap(),
        WriteOutcome::Written
    );
    assert_eq!(read(Arc::clone(&store)).await, tombstone);
}

/// Every page of the read items of `kinds`, across three scan segments.
async fn list_in_segments(store: &Store, kinds: &[ReadItemKind]) -> Vec<ItemKey> {
    let mut found = Vec::new();
    for index in 0..3 {
        let mut cursor: Option<String> = None;
        loop {
            let page = store
                .list_read_items(
                    kinds,
                    Scan {
                        segment: Segment { index, total: 3 },
                        cursor: cursor.as_deref(),
                    },
                )
                .await
                .unwrap();
            found.extend(page.items.into_iter().map(|item| item.key));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    found
}

pub async fn read_items_are_listed_once_across_scan_segments(store: Store) {
    let username = register_new_user(&store).await;
    let mut expected = BTreeSet::new();
    let info = ReadItem {
        key: keys::user_info_key(&username),
        version: 1,
        deleted: false,
        attributes: attrs(json!({"username": username})),
    };
    store.put_read_item(&info).await.unwrap();
    expected.insert(info.key.clone());
    for n in 0..5 {
        let mut item = debt_item(&username, &new_id(), 1, "debt");
        item.deleted = n == 4;
        store.put_read_item(&item).await.unwrap();
        expected.insert(item.key.clone());
    }
    append_two_events(&store, &new_id()).await;
    // A read model the engines have never heard of: its kind is all they need to list it.
    let notes = ReadItemKind {
        name: "note",
        pk_prefix: "NOTES#",
        sk: SortKeyMatch::Prefix("NOTE#"),
    };
    let note = ReadItem {
        key: ItemKey::new(format!("NOTES#{username}"), format!("NOTE#{}", new_id())),
        version: 1,
        deleted: false,
        attributes: attrs(json!({"text": "a new read model"})),
    };
    store.put_read_item(&note).await.unwrap();

    let found = list_in_segments(&store, &projections::projection::kinds()).await;
    assert_eq!(
        found.len(),
        expected.len(),
        "each read item once, tombstones included: {found:?}"
    );
    assert_eq!(
        found.into_iter().collect::<BTreeSet<_>>(),
        expected,
        "no events, credentials, guards, nor read items of another kind"
    );
    let mut kinds = projections::projection::kinds();
    kinds.push(notes);
    let found: BTreeSet<ItemKey> = list_in_segments(&store, &kinds).await.into_iter().collect();
    expected.insert(note.key);
    assert_eq!(found, expected, "a kind asked for is listed with the rest");
    assert!(list_in_segments(&store, &[]).await.is_empty());
}

/// Counts `increments` on `counter` once for `marker`: whether it counted.
async fn count_once(
    store: &Store,
    marker: &ItemKey,
    counter: &ItemKey,
    increments: &[(&str, i64)],
) -> Result<bool, StoreError> {
    let count = CountOnce {
        marker,
        counter,
        increments,
    };
    store.increment_once(&count).await
}

pub async fn concurrent_adds_to_a_count_lose_none(store: Store) {
    let key = ItemKey::new(format!("LOGIN#user#t{}", &new_id()[..8]), "WINDOW#1");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (store, key) = (Arc::clone(&store), key.clone());
        tasks.spawn(async move { store.add_to_count(&key, "count", 1, 4_000_000_000).await });
    }
    let mut answers = Vec::new();
    while let Some(done) = tasks.join_next().await {
        answers.push(done.unwrap().unwrap());
    }
    answers.sort_unstable();
    assert_eq!(
        answers,
        (1..=20).collect::<Vec<i64>>(),
        "each add sees its own sum"
    );
    assert_eq!(
        store
            .add_to_count(&key, "count", -1, 4_000_000_000)
            .await
            .unwrap(),
        19
    );
    let item = store
        .get_item(&key)
        .await
        .unwrap()
        .expect("the count's item");
    assert_eq!(item.attributes["count"], json!(19));
    assert_eq!(
        item.attributes[keys::TTL_ATTRIBUTE],
        json!(4_000_000_000_i64)
    );
    let event = keys::event_key(events::AggregateType::Debt, "d", 1);
    assert!(
        store.add_to_count(&event, "count", 1, 0).await.is_err(),
        "never on an event"
    );
}

pub async fn a_marked_increment_counts_once(store: Store) {
    let counter = ItemKey::new(format!("COUNTERS#{}", new_id()), "DAY#2026-11-28");
    let count = |item: Option<Item>, field: &str| {
        item.and_then(|i| i.attributes.get(field).and_then(|v| v.as_u64()))
    };

    // Eight concurrent deliveries of one event and one of another: two increments, whoever wins the race.
    let first = ItemKey::new(counter.pk.clone(), format!("SEEN#{}", new_id()));
    let second = ItemKey::new(counter.pk.clone(), format!("SEEN#{}", new_id()));
    let mut deliveries = tokio::task::JoinSet::new();
    for marker in std::iter::repeat_n(first.clone(), 8).chain([second.clone()]) {
        let (store, counter) = (Arc::clone(&store), counter.clone());
        deliveries.spawn(async move {
            count_once(&store, &marker, &counter, &[("debts_created", 1)])
                .await
                .unwrap()
        });
    }
    let counted = deliveries
        .join_all()
        .await
        .into_iter()
        .filter(|c| *c)
        .count();
    assert_eq!(counted, 2, "one true per distinct marker");
    let stored = store.get_item(&counter).await.unwrap();
    assert_eq!(count(stored.clone(), "debts_created"), Some(2));
    assert_eq!(
        count(stored, "debts_deleted"),
        None,
        "other fields untouched"
    );

    // A second field of the same counter item; markers are per event, not per field.
    // Several fields move together, by any amount (a payment counts 1 and adds its cents).
    let third = ItemKey::new(counter.pk.clone(), format!("SEEN#{}", new_id()));
    let payment = [("payments_recorded", 1), ("paid_cents", 12_345)];
    assert!(count_once(&store, &third, &counter, &payment)
        .await
        .unwrap());
    assert!(!count_once(&store, &third, &counter, &payment)
        .await
        .unwrap());
    let deleted = [("debts_deleted", 1)];
    assert!(!count_once(&store, &first, &counter, &deleted)
        .await
        .unwrap());
    let fourth = ItemKey::new(counter.pk.clone(), format!("SEEN#{}", new_id()));
    let cents = [("paid_cents", 5)];
    assert!(count_once(&store, &fourth, &counter, &cents).await.unwrap());
    let stored = store.get_item(&counter).await.unwrap();
    assert_eq!(count(stored.clone(), "debts_created"), Some(2));
    assert_eq!(count(stored.clone(), "debts_deleted"), None);
    assert_eq!(count(stored.clone(), "payments_recorded"), Some(1));
    assert_eq!(count(stored, "paid_cents"), Some(12_350));

    let refusals: [&[(&str, i64)]; 5] = [
        &[("version", 1)],
        &[("PK", 1)],
        &[("", 1)],
        &[],
        &[("paid_cents", 1), ("paid_cents", 2)],
    ];
    for increments in refusals {
        let refused = count_once(&store, &first, &counter, increments).await;
        assert!(
            matches!(refused, Err(StoreError::InvalidRequest(_))),
            "{increments:?}: {refused:?}"
        );
    }
    let event_key = keys::event_key(events::AggregateType::User, "alice", 1);
    let refused = count_once(&store, &event_key, &counter, &[("debts_created", 1)]).await;
    assert!(
        matches!(refused, Err(StoreError::InvalidRequest(_))),
        "{refused:?}"
    );
}

/// A debt creation that moves `owner`'s tally of live debts by `delta` (limit 3).
fn tallied(owner: &str, delta: i64) -> AppendRequest {
    AppendRequest::new(0, vec![debt_created(&new_id(), owner)]).with_tally(
        "debts",
        keys::user_tallies_key(owner),
        keys::LIVE_DEBTS_FIELD,
        delta,
        3,
    )
}

async fn tally_of(store: &Store, owner: &str) -> serde_json::Value {
    store
        .get_item(&keys::user_tallies_key(owner))
        .await
        .unwrap()
        .map_or(json!(null), |item| {
            item.attributes[keys::LIVE_DEBTS_FIELD].clone()
        })
}

pub async fn a_tally_holds_its_limit_and_refuses_the_whole_append(store: Store) {
    let owner = format!("u{}", &new_id()[..8]);
    for _ in 0..3 {
        store.append(tallied(&owner, 1)).await.unwrap();
    }
    assert_eq!(tally_of(&store, &owner).await, json!(3));
    let over = tallied(&owner, 1);
    let refused_debt = over.events[0].aggregate_id.clone();
    let refused = store.append(over).await;
    assert!(
        matches!(&refused, Err(StoreError::LimitReached { name }) if name == "debts"),
        "{refused:?}"
    );
    assert_eq!(
        event_count(&store, &debt_ref(&refused_debt)).await,
        0,
        "no event either"
    );
    assert_eq!(tally_of(&store, &owner).await, json!(3));

    // A decrease is never refused, and frees room for one more.
    let mut freeing = tallied(&owner, -1);
    freeing.events = vec![debt_created(&new_id(), &owner)];
    store.append(freeing).await.unwrap();
    store.append(tallied(&owner, 1)).await.unwrap();
    assert_eq!(tally_of(&store, &owner).await, json!(3));
}

pub async fn concurrent_appends_never_pass_a_tally_limit(store: Store) {
    let owner = format!("u{}", &new_id()[..8]);
    store.append(tallied(&owner, 1)).await.unwrap();
    store.append(tallied(&owner, 1)).await.unwrap();
    // Eight appends race for the last place: exactly one gets it, whatever the interleaving.
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (store, request) = (Arc::clone(&store), tallied(&owner, 1));
            tokio::spawn(async move {
                // Busy (DynamoDB cancelled the racer for the conflict) is retried, as a client would.
                loop {
                    match store.append(request.clone()).await {
                        Err(StoreError::Busy) => {
                            tokio::time::sleep(Duration::from_millis(10)).await
                        }
                        outcome => return outcome,
                    }
                }
            })
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::LimitReached { .. }) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(tally_of(&store, &owner).await, json!(3));
}

on_every_engine!(sqlite: sqlite_store, dynamodb: dynamodb_store;
    concurrent_adds_to_a_count_lose_none,
    a_tally_holds_its_limit_and_refuses_the_whole_append,
    concurrent_appends_never_pass_a_tally_limit,
    appended_events_load_back_in_order,
    two_concurrent_appends_at_one_version_one_wins,
    a_stale_expected_version_is_a_conflict,
    a_malformed_append_is_refused_before_writing,
    a_history_longer_than_one_page_loads_complete,
    registration_writes_event_credentials_and_email_guard_together,
    a_taken_email_fails_the_whole_transaction_and_names_the_guard,
    a_taken_username_is_a_version_conflict_and_leaves_nothing,
    removals_go_with_the_events_or_not_at_all,
    a_legacy_event_is_redacted_in_place_and_nothing_else_is,
    an_older_read_item_write_is_ignored,
    a_tombstone_is_never_revived,
    cursors_page_a_prefix_without_gaps_or_repeats,
    aggregates_are_listed_once_across_scan_segments,
    a_plain_item_is_replaced_but_events_are_refused,
    a_required_item_must_exist_when_the_append_commits,
    a_conditional_replacement_needs_the_expected_value,
    an_items_json_text_holds_its_attributes,
    repair_replaces_same_version_but_never_newer,
    read_items_are_listed_once_across_scan_segments,
    a_marked_increment_counts_once,
);
