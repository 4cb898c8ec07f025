//! The change feed gets every committed event, even when the caller stops waiting for the append (as the
//! local server drops a handler whose client hung up): the commit and the feed are one step.

use std::time::Duration;

use integration_tests::user_created;
use store::{AppendRequest, EventLog};
use store_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_whose_caller_gave_up_still_reaches_the_feed() {
    let dir = std::env::temp_dir().join(format!("feed-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("debts.sqlite");
    let (store, mut feed) = SqliteStore::open_with_feed(&path).unwrap();

    // Another connection holds the write lock, so the append waits inside its blocking task...
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let append = store.append(AppendRequest::new(
        0,
        vec![user_created("hangup", "hangup@example.com")],
    ));
    // ...and its caller gives up, dropping the future while the commit is still pending: polled once, the
    // append found the lock taken and moved to its blocking task, where it waits.
    assert!(futures_util::FutureExt::now_or_never(append).is_none());
    blocker.execute_batch("COMMIT").unwrap();

    let key = tokio::time::timeout(Duration::from_secs(120), feed.recv())
        .await
        .expect("the committed event reaches the feed")
        .unwrap();
    assert_eq!(key.pk, "USER#hangup");
    let loaded = store
        .load_events(&store::AggregateRef::user("hangup"), 0)
        .await
        .unwrap();
    assert_eq!(loaded.len(), 1, "and it was committed");
}
