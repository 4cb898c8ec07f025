//! What the notice sweep's time index is built from: an owner's notice settings as their profile's read
//! item holds them, and the entry a debt's state makes ([`store::notice_index`]). The projector writes an
//! entry whenever a debt or its owner's settings change; the sweep writes the next one after asking for a
//! debt's notices.

use chrono::{DateTime, NaiveDate, Utc};
use domain::{DebtRecord, NoticesSent, TimeZoneName, UserView};
use events::NotificationSettings;
use store::notice_index::NoticeEntry;
use store::{keys, ReadModel, StoreResult};

use crate::items::live_view;

/// How an owner hears of notices: their zone (whose mornings notices fall due in) and their settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeSettings {
    pub zone: TimeZoneName,
    pub notifications: NotificationSettings,
}

impl Default for NoticeSettings {
    /// UTC and the default settings: every user's until they choose theirs.
    fn default() -> Self {
        NoticeSettings {
            zone: TimeZoneName::utc(),
            notifications: NotificationSettings::default(),
        }
    }
}

/// `owner`'s notice settings from their profile's read item: the defaults while it is not projected yet,
/// `None` once they are erased (their profile is a tombstone). One consistent read.
pub async fn notice_settings(
    model: &dyn ReadModel,
    owner: &str,
) -> StoreResult<Option<NoticeSettings>> {
    let key = keys::user_info_key(owner);
    let Some(text) = model.read_item_json(&key).await? else {
        return Ok(Some(NoticeSettings::default()));
    };
    Ok(
        live_view::<UserView>(&key, &text)?.map(|(user, _)| NoticeSettings {
            // A stored zone the database no longer knows reads as UTC, as every read takes it.
            zone: TimeZoneName::parse(&user.time_zone).unwrap_or_else(|_| TimeZoneName::utc()),
            notifications: user.notifications,
        }),
    )
}

/// The index entry of a debt recorded on `tracked_from` as of `now`: when its next notice falls due
/// ([`DebtRecord::next_notice_at`]), or `None` when it owes nothing.
pub fn notice_entry(
    debt_id: &str,
    debt: &DebtRecord,
    sent: &NoticesSent,
    tracked_from: NaiveDate,
    settings: &NoticeSettings,
    now: DateTime<Utc>,
) -> Option<NoticeEntry> {
    let at = debt.next_notice_at(
        sent,
        now,
        &settings.zone,
        tracked_from,
        &settings.notifications,
    )?;
    Some(NoticeEntry {
        owner: debt.owner.clone(),
        debt_id: debt_id.to_owned(),
        at,
    })
}
