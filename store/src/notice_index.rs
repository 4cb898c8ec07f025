//! The notice sweep's time index: when each open debt's next notice falls due, as one small item per debt
//! in the partition of the UTC hour it falls in (`NOTICE#2026-12-05T14#07` / `DEBT#{debt_id}`), the hour's
//! items spread over [`NOTICE_SHARDS`] partitions by a hash of the debt id so that no partition takes more
//! than its share of the writes. An entry is a hint, not a fact: the sweep decides from the debt's events,
//! so an entry that went stale (the debt was paid, deleted, or its due date moved) costs one read and is
//! removed. The sweep's progress (the last hour it finished) is one item beside them.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::{json, Value};

use crate::codec::to_attributes;
use crate::item::{Item, ItemKey};
use crate::port::Query;
use crate::roles::{Records, StoreResult};

/// Partition prefix of the index and of the sweep's progress.
pub const NOTICE_PK_PREFIX: &str = "NOTICE#";

/// Partitions each hour's entries are spread over (see `docs/architecture.md` for the capacity argument).
pub const NOTICE_SHARDS: u16 = 16;

/// SK prefix of an entry: the debt it names follows.
const ENTRY_SK_PREFIX: &str = "DEBT#";

/// A UTC hour of the index: an instant on the hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct NoticeHour(DateTime<Utc>);

impl NoticeHour {
    /// The hour `instant` falls in.
    pub fn containing(instant: DateTime<Utc>) -> Self {
        NoticeHour(
            instant
                .duration_trunc(TimeDelta::hours(1))
                .unwrap_or(instant),
        )
    }

    /// The hour after this one.
    pub fn next(self) -> Self {
        NoticeHour(self.0 + TimeDelta::hours(1))
    }

    /// The hour `hours` after this one.
    pub fn after(self, hours: i64) -> Self {
        NoticeHour(self.0 + TimeDelta::hours(hours))
    }

    /// The hour `hours` before this one.
    pub fn before(self, hours: i64) -> Self {
        NoticeHour(self.0 - TimeDelta::hours(hours))
    }

    /// The instant it begins.
    pub fn start(self) -> DateTime<Utc> {
        self.0
    }

    /// `2026-12-05T14`: how keys and the progress item name it.
    pub fn label(self) -> String {
        self.0.format("%Y-%m-%dT%H").to_string()
    }

    /// The hour a [`Self::label`] names.
    pub fn parse(label: &str) -> Option<Self> {
        let instant = DateTime::parse_from_rfc3339(&format!("{label}:00:00Z")).ok()?;
        Some(NoticeHour::containing(instant.to_utc()))
    }

    /// The partition of the hour's shard `shard`.
    pub fn partition(self, shard: u16) -> String {
        format!("{NOTICE_PK_PREFIX}{}#{shard:02}", self.label())
    }
}

/// The shard a debt's entries go to: FNV-1a of its id (stable across builds and platforms, unlike the
/// standard library's hasher), modulo [`NOTICE_SHARDS`].
pub fn shard_of(debt_id: &str) -> u16 {
    let hash = debt_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    u16::try_from(hash % u64::from(NOTICE_SHARDS)).unwrap_or(0)
}

/// One debt's next notice time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeEntry {
    pub owner: String,
    pub debt_id: String,
    pub at: DateTime<Utc>,
}

impl NoticeEntry {
    pub fn hour(&self) -> NoticeHour {
        NoticeHour::containing(self.at)
    }

    pub fn key(&self) -> ItemKey {
        ItemKey::new(
            self.hour().partition(shard_of(&self.debt_id)),
            format!("{ENTRY_SK_PREFIX}{}", self.debt_id),
        )
    }

    pub fn to_item(&self) -> Item {
        Item {
            key: self.key(),
            attributes: to_attributes(&json!({"owner": self.owner, "at": self.at})),
        }
    }

    /// The entry a stored item holds, or `None` for any other item.
    pub fn from_item(item: &Item) -> Option<Self> {
        let debt_id = item.key.sk.strip_prefix(ENTRY_SK_PREFIX)?;
        let text = |name: &str| item.attributes.get(name).and_then(Value::as_str);
        Some(NoticeEntry {
            owner: text("owner")?.to_owned(),
            debt_id: debt_id.to_owned(),
            at: DateTime::parse_from_rfc3339(text("at")?).ok()?.to_utc(),
        })
    }
}

/// Key of the sweep's progress: `{"through": "<hour label>"}`, the last hour every entry of which it swept.
pub fn sweep_progress_key() -> ItemKey {
    ItemKey::new(format!("{NOTICE_PK_PREFIX}SWEEP"), "PROGRESS")
}

/// The last hour the sweep finished, when it has finished one.
pub async fn swept_through(records: &dyn Records) -> StoreResult<Option<NoticeHour>> {
    let item = records.get_item(&sweep_progress_key()).await?;
    Ok(item
        .as_ref()
        .and_then(|item| item.attributes.get("through"))
        .and_then(Value::as_str)
        .and_then(NoticeHour::parse))
}

/// Records that the sweep finished `hour` (and every hour before it).
pub async fn mark_swept(records: &dyn Records, hour: NoticeHour) -> StoreResult<()> {
    records
        .put_item(&Item {
            key: sweep_progress_key(),
            attributes: to_attributes(&json!({"through": hour.label()})),
        })
        .await
}

/// One page (at most `limit`) of the entries of `hour`'s shard `shard`, after `cursor`.
pub fn entries_query(hour: NoticeHour, shard: u16, limit: u32) -> Query {
    Query::partition(hour.partition(shard), ENTRY_SK_PREFIX).limit(limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_entry_lives_in_its_hours_shard_and_round_trips() {
        let at = Utc.with_ymd_and_hms(2026, 12, 5, 14, 37, 10).unwrap();
        let entry = NoticeEntry {
            owner: "ada".into(),
            debt_id: "d-1".into(),
            at,
        };
        let key = entry.key();
        assert_eq!(
            key.pk,
            format!("NOTICE#2026-12-05T14#{:02}", shard_of("d-1"))
        );
        assert_eq!(key.sk, "DEBT#d-1");
        assert_eq!(NoticeEntry::from_item(&entry.to_item()), Some(entry));
        assert_eq!(
            NoticeHour::parse("2026-12-05T14"),
            Some(NoticeHour::containing(at))
        );
        assert_eq!(NoticeHour::containing(at).next().label(), "2026-12-05T15");
    }

    #[test]
    fn debts_spread_evenly_over_the_shards() {
        let mut counts = [0u32; NOTICE_SHARDS as usize];
        for n in 0..16_000 {
            counts[usize::from(shard_of(&format!("{n:08x}-5c1e-4f0a-9b7d-2e6f8a1c3d5b")))] += 1;
        }
        // 1,000 each on average; a hash that clumps would leave a shard far from it.
        assert!(
            counts.iter().all(|c| (850..=1150).contains(c)),
            "{counts:?}"
        );
    }
}
