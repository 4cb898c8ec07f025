//! Key formats of the one table (design.md section 3). Every engine builds keys here and nowhere else.

use events::AggregateType;

use crate::item::ItemKey;

/// SK prefix shared by every event item.
pub const EVENT_SK_PREFIX: &str = "EVENT#";
/// SK of the item holding a user's password hash.
pub const CREDENTIALS_SK: &str = "CREDENTIALS";
/// SK of a user's read item.
pub const USER_INFO_SK: &str = "USER#INFO";
/// SK prefix of a user's debt read items.
pub const DEBT_SK_PREFIX: &str = "DEBT#";
/// Partition prefix of every user's items (their events, credentials and read items).
pub const USER_PK_PREFIX: &str = "USER#";
/// Partition prefix of a debt's events.
pub const DEBT_PK_PREFIX: &str = "DEBT#";
/// TTL attribute: an item whose epoch-seconds value here has passed is deleted by DynamoDB (idempotency
/// records expire through it).
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// Highest version an event key can hold (ten digits).
pub const MAX_VERSION: u64 = 9_999_999_999;

/// Every partition-key family of the table: each key built here starts with one of them. IAM grants a
/// function the families it uses (`dynamodb:LeadingKeys` patterns, `FAMILY*`), so a key of a new family
/// must be added here before any function can touch it (the footprint recorder refuses unknown ones).
pub const PARTITION_FAMILIES: &[&str] = &[
    USER_PK_PREFIX,
    DEBT_PK_PREFIX,
    "EMAIL#",
    "IDEMPOTENCY#users#",
    "IDEMPOTENCY#debts#",
    "HEALTH#",
    ANALYTICS_COPY_PK_PREFIX,
    "PORTFOLIO#",
    "STATS#DAILY",
    "STATS#EVENT#",
    REPLAY_PK_PREFIX,
    LOGIN_ACCOUNT_PREFIX,
    LOGIN_SOURCE_PREFIX,
    crate::notice_index::NOTICE_PK_PREFIX,
    CALENDAR_PK_PREFIX,
    UNSUBSCRIBE_PK_PREFIX,
];

/// Partition prefix of the calendar feeds.
pub const CALENDAR_PK_PREFIX: &str = "CALENDAR#";

/// Key of a private calendar feed, `{"owner", "secret_sha256"}`: written with the `UserUpdated` that issues
/// it, removed with the one that replaces or revokes it and with the owner's erasure. Keyed by the feed's id
/// (the first part of its token), so removing it needs no read; the secret itself is never stored.
pub fn calendar_feed_key(feed_id: &str) -> ItemKey {
    ItemKey::new([CALENDAR_PK_PREFIX, feed_id].concat(), "FEED")
}

/// Partition prefix of the unsubscribe links of notice emails.
pub const UNSUBSCRIBE_PK_PREFIX: &str = "UNSUBSCRIBE#";

/// Key of one unsubscribe link, `{"owner", "kind", "secret_sha256", "expires_at"}`: written when an email is
/// composed, removed by TTL.
pub fn unsubscribe_key(link_id: &str) -> ItemKey {
    ItemKey::new([UNSUBSCRIBE_PK_PREFIX, link_id].concat(), "LINK")
}

/// Partition prefixes of the failed-login counts: per account (the username tried) and per source address.
pub const LOGIN_ACCOUNT_PREFIX: &str = "LOGIN#user#";
pub const LOGIN_SOURCE_PREFIX: &str = "LOGIN#source#";

/// Key of the failed-login count of one account or one source (`prefix` is one of the two above) in the
/// window numbered `window`: each window is an item of its own, removed by TTL after it ends.
pub fn login_attempts_key(prefix: &str, who: &str, window: i64) -> ItemKey {
    ItemKey::new(format!("{prefix}{who}"), format!("WINDOW#{window}"))
}

/// Partition prefix of a replay job's records (its status and each segment's checkpoint).
pub const REPLAY_PK_PREFIX: &str = "REPLAY#";

/// The partition-key prefix of an aggregate type's items.
pub fn aggregate_pk_prefix(aggregate_type: AggregateType) -> &'static str {
    match aggregate_type {
        AggregateType::User => USER_PK_PREFIX,
        AggregateType::Debt => DEBT_PK_PREFIX,
    }
}

/// Partition key of an aggregate: `USER#{username}` or `DEBT#{debt_id}`.
pub fn aggregate_pk(aggregate_type: AggregateType, aggregate_id: &str) -> String {
    // Joined, not `format!`ed: keys are built on every request (a `format!` is a few hundred instructions).
    [aggregate_pk_prefix(aggregate_type), aggregate_id].concat()
}

/// Sort key of an aggregate's event: `EVENT#{aggregate_id}#{version:010}`. The id sits inside the key from
/// when an index inverted the table's keys (it spread events over many index partitions); stored keys are
/// never rewritten, so the format stays.
pub fn event_sk(aggregate_id: &str, version: u64) -> String {
    format!("{EVENT_SK_PREFIX}{aggregate_id}#{version:010}")
}

/// Key of an aggregate's event at `version`.
pub fn event_key(aggregate_type: AggregateType, aggregate_id: &str, version: u64) -> ItemKey {
    ItemKey::new(
        aggregate_pk(aggregate_type, aggregate_id),
        event_sk(aggregate_id, version),
    )
}

/// The partition and the inclusive SK range holding the events of `aggregate` after version `after`, up to
/// version `through` (at most [`MAX_VERSION`]). An empty range (`through <= after`) is one no key falls in.
pub fn events_between(
    aggregate: &crate::AggregateRef,
    after: u64,
    through: u64,
) -> (String, String, String) {
    let id = &aggregate.aggregate_id;
    (
        aggregate_pk(aggregate.aggregate_type, id),
        event_sk(id, after.saturating_add(1)),
        event_sk(id, through.min(MAX_VERSION)),
    )
}

/// Key of a user's credentials item, written in the same transaction as `UserCreated`.
pub fn credentials_key(username: &str) -> ItemKey {
    ItemKey::new(aggregate_pk(AggregateType::User, username), CREDENTIALS_SK)
}

/// Key of a user's data key, wrapped (written with `UserCreated`, removed with `UserErased`): the key every
/// personal field of the user's events is sealed under.
pub fn data_key_key(username: &str) -> ItemKey {
    ItemKey::new(aggregate_pk(AggregateType::User, username), "DATA_KEY")
}

/// Key of a user's erasure record, which the projector keeps while it rewrites their debts' read items:
/// `{"after": <ledger cursor or null>, "done": bool}`, so that a retry goes on where the last attempt stopped.
pub fn erasure_progress_key(username: &str) -> ItemKey {
    ItemKey::new(aggregate_pk(AggregateType::User, username), "ERASURE")
}

/// Key of the item that reserves an email address; `normalized_email` is lower-cased.
pub fn email_guard_key(normalized_email: &str) -> ItemKey {
    ItemKey::new(format!("EMAIL#{normalized_email}"), "EMAIL")
}

/// Key of the record of a `POST /users` `Idempotency-Key`, written in the registration transaction.
pub fn user_idempotency_key(idempotency_key: &str) -> ItemKey {
    ItemKey::new(
        format!("IDEMPOTENCY#users#{idempotency_key}"),
        "IDEMPOTENCY",
    )
}

/// Key of the record of an `Idempotency-Key` a user sent with a command on one of their debts (a payment, a
/// charge), written in the command's transaction.
pub fn debt_command_idempotency_key(owner: &str, idempotency_key: &str) -> ItemKey {
    ItemKey::new(
        format!("IDEMPOTENCY#debts#{owner}#{idempotency_key}"),
        "IDEMPOTENCY",
    )
}

/// Key of a user's tallies (the write side's counters, moved in the same transactions as events).
pub fn user_tallies_key(username: &str) -> ItemKey {
    ItemKey::new(aggregate_pk(AggregateType::User, username), "TALLIES")
}

/// Key of the tally of the debts a user ever created: the ledger's length, which it bounds. An item of its
/// own, since one transaction moves it beside [`user_tallies_key`] (DynamoDB allows one operation per item).
pub fn user_ledger_tally_key(username: &str) -> ItemKey {
    ItemKey::new(
        aggregate_pk(AggregateType::User, username),
        "TALLIES#LEDGER",
    )
}

/// The field of [`user_ledger_tally_key`] that counts the debts a user ever created.
pub const DEBTS_CREATED_FIELD: &str = "debts_created";

/// SK prefix of a user's debt ledger entries (see `store::ledger`).
pub const LEDGER_SK_PREFIX: &str = "LEDGER#";

/// The field of [`user_tallies_key`] that counts the user's live (created, not deleted) debts.
pub const LIVE_DEBTS_FIELD: &str = "live_debts";

/// Key of the item the health check reads: no item has it; reading it shows the table answers.
pub fn health_probe_key() -> ItemKey {
    ItemKey::new("HEALTH#", "HEALTH")
}

/// Key of a user's read item.
pub fn user_info_key(username: &str) -> ItemKey {
    ItemKey::new(aggregate_pk(AggregateType::User, username), USER_INFO_SK)
}

/// Sort key of a debt's read item (and of its portfolio contribution): `DEBT#{debt_id}`.
pub fn debt_read_sk(debt_id: &str) -> String {
    [DEBT_SK_PREFIX, debt_id].concat()
}

/// Key of a debt's read item, in its owner's partition.
pub fn debt_read_key(owner: &str, debt_id: &str) -> ItemKey {
    ItemKey::new(
        aggregate_pk(AggregateType::User, owner),
        debt_read_sk(debt_id),
    )
}

/// Key of the analytics consumer's copy of a debt event (its own, order-free record of what the bus
/// delivered; `SEEN#`, never `EVENT#`, so neither the projector nor the Pipe sees it as an event).
pub fn analytics_copy_key(debt_id: &str, version: u64) -> ItemKey {
    ItemKey::new(
        format!("{ANALYTICS_COPY_PK_PREFIX}{debt_id}"),
        format!("{ANALYTICS_COPY_SK_PREFIX}{version:010}"),
    )
}
/// Key of the analytics consumer's fold of a debt's copies (`read_model::ContributionFold`): beside the
/// copies, outside their SK prefix.
pub fn analytics_fold_key(debt_id: &str) -> ItemKey {
    ItemKey::new(format!("{ANALYTICS_COPY_PK_PREFIX}{debt_id}"), "FOLD")
}

/// Partition prefix and SK prefix of the analytics consumer's event copies.
pub const ANALYTICS_COPY_PK_PREFIX: &str = "ANALYTICS#DEBT#";
pub const ANALYTICS_COPY_SK_PREFIX: &str = "SEEN#";

/// Partition of a user's portfolio contributions (one read item per debt, `DEBT#{debt_id}`).
pub fn portfolio_pk(owner: &str) -> String {
    format!("PORTFOLIO#{owner}")
}

/// Key of one debt's contribution to its owner's portfolio summary.
pub fn portfolio_debt_key(owner: &str, debt_id: &str) -> ItemKey {
    ItemKey::new(portfolio_pk(owner), debt_read_sk(debt_id))
}

/// Key of the global counters of one UTC day (`YYYY-MM-DD`).
pub fn daily_counter_key(day: chrono::NaiveDate) -> ItemKey {
    ItemKey::new("STATS#DAILY", format!("DAY#{day}"))
}

/// Key of the marker saying an event has been counted in the daily counters.
pub fn counted_marker_key(event_id: &str) -> ItemKey {
    ItemKey::new(format!("STATS#EVENT#{event_id}"), "COUNTED")
}

/// Tells which aggregate an event item's key belongs to, or `None` for any other item.
pub fn parse_event_key(key: &ItemKey) -> Option<(AggregateType, String, u64)> {
    let rest = key.sk.strip_prefix(EVENT_SK_PREFIX)?;
    let (id, version) = rest.rsplit_once('#')?;
    let aggregate_type = [AggregateType::User, AggregateType::Debt]
        .into_iter()
        .find(|t| key.pk.strip_prefix(aggregate_pk_prefix(*t)) == Some(id))?;
    let version = version.parse().ok().filter(|_| version.len() == 10)?;
    Some((aggregate_type, id.to_owned(), version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_of_one_listed_family() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let keys = [
            event_key(AggregateType::User, "alice", 1),
            event_key(AggregateType::Debt, "d-1", 1),
            credentials_key("alice"),
            data_key_key("alice"),
            email_guard_key("a@example.com"),
            user_idempotency_key("k"),
            debt_command_idempotency_key("alice", "k"),
            user_tallies_key("alice"),
            user_ledger_tally_key("alice"),
            health_probe_key(),
            user_info_key("alice"),
            debt_read_key("alice", "d-1"),
            analytics_copy_key("d-1", 1),
            analytics_fold_key("d-1"),
            portfolio_debt_key("alice", "d-1"),
            daily_counter_key(day),
            counted_marker_key("e-1"),
        ];
        for key in keys {
            let families = PARTITION_FAMILIES
                .iter()
                .filter(|f| key.pk.starts_with(**f))
                .count();
            assert!(families >= 1, "{} is of no family", key.pk);
        }
    }

    #[test]
    fn event_keys_sort_by_version_and_round_trip() {
        let key = event_key(AggregateType::Debt, "d-1", 42);
        assert_eq!(key.pk, "DEBT#d-1");
        assert_eq!(key.sk, "EVENT#d-1#0000000042");
        assert!(event_sk("d-1", 9) < event_sk("d-1", 10));
        assert_eq!(
            parse_event_key(&key),
            Some((AggregateType::Debt, "d-1".to_owned(), 42))
        );
        assert_eq!(parse_event_key(&user_info_key("alice")), None);
        assert_eq!(parse_event_key(&credentials_key("alice")), None);
        assert_eq!(
            parse_event_key(&ItemKey::new("USER#bob", "EVENT#alice#0000000001")),
            None
        );
    }

    #[test]
    fn read_and_guard_keys_follow_the_table_layout() {
        assert_eq!(
            user_info_key("alice"),
            ItemKey::new("USER#alice", "USER#INFO")
        );
        assert_eq!(
            debt_read_key("alice", "d-1"),
            ItemKey::new("USER#alice", "DEBT#d-1")
        );
        assert_eq!(
            credentials_key("alice"),
            ItemKey::new("USER#alice", "CREDENTIALS")
        );
        assert_eq!(
            email_guard_key("a@example.com"),
            ItemKey::new("EMAIL#a@example.com", "EMAIL")
        );
    }
}
