//! The `replay-cli` binary as an operator runs it: on a SQLite data directory, with `--dry-run`, and with bad
//! arguments.

use std::path::Path;

use crate::support::run_tool;
use chrono::Utc;
use events::{EventEnvelope, EventPayload, UserCreated};
use store::{AppendRequest, EventLog};
use store_sqlite::SqliteStore;

fn user_created(username: &str) -> EventEnvelope {
    let payload = EventPayload::UserCreated(UserCreated {
        username: username.to_owned(),
        email: format!("{username}@example.com").into(),
        full_name: "Someone".into(),
    });
    EventEnvelope::new(
        username,
        1,
        payload,
        Utc::now(),
        username,
        uuid::Uuid::new_v4(),
    )
}

fn replay(data_dir: &Path, args: &[&str]) -> (i32, String, String) {
    run_tool(env!("CARGO_BIN_EXE_replay-cli"), data_dir, args)
}

#[tokio::test]
async fn replay_reports_then_repairs_then_finds_nothing_to_do() {
    let dir = std::env::temp_dir().join(format!("replay-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    {
        let store = SqliteStore::open(dir.join("debts.sqlite")).unwrap();
        for name in ["ann", "ben", "cid"] {
            store
                .append(AppendRequest::new(0, vec![user_created(name)]))
                .await
                .unwrap();
        }
    }
    let (code, out, _) = replay(&dir, &["--all", "--dry-run"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("dry run") && out.contains("checked 3, rewritten 3, removed 0"),
        "{out}"
    );
    let (code, out, err) = replay(&dir, &["--all"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("checked 3, rewritten 3, removed 0"), "{out}");
    assert!(
        err.contains("4/4 segments done, 3 aggregates"),
        "progress goes to stderr: {err}"
    );
    // The job's id comes first, and its records say how far it got.
    let job_id = err
        .split_whitespace()
        .nth(2)
        .filter(|_| err.starts_with("replay job "))
        .unwrap_or_else(|| panic!("the job's id first: {err}"));
    let (code, _, status) = replay(&dir, &["--status", job_id]);
    assert_eq!(code, 0, "{status}");
    assert!(
        status.contains("4/4 segments done, 3 aggregates"),
        "{status}"
    );
    let (code, _, unknown) = replay(&dir, &["--status", "no-such-job"]);
    assert_eq!((code, unknown.trim()), (2, "replay: no job no-such-job"));
    let (_, out, _) = replay(&dir, &["--user", "ben"]);
    assert!(out.contains("checked 1, rewritten 0, removed 0"), "{out}");
}

#[test]
fn bad_arguments_print_the_usage_and_exit_2() {
    let dir = std::env::temp_dir();
    for args in [&[][..], &["--everything"][..], &["--user"][..]] {
        let (code, _, err) = replay(&dir, args);
        assert_eq!(code, 2, "{args:?}");
        assert!(
            err.contains("usage: replay") || err.contains("needs a value"),
            "{err}"
        );
    }
}
