//! Notices as events: the reminders a debt's log records when its owner should hear of it (a payment due
//! soon, a due date missed, a promotion ending). The decider appends each at most once per debt, date, kind
//! and offset, whatever the sweep that asks does: the notices already in the log are part of its state, and
//! the append is conditional on the version the decision was made on, so two sweeps at once append one.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use events::{
    EventPayload, NoticeKind, NotificationSettings, PaymentDueSoon, PaymentMissed, PromoEndingSoon,
    RateKind,
};
use rust_decimal::Decimal;

use super::{DebtRecord, RateStep};
use crate::values::TimeZoneName;

/// Days before a promotion's last day at which its end is announced.
pub const PROMO_OFFSETS_DAYS: [u16; 3] = [60, 30, 7];

/// A user's reminder offsets before a due date, until they choose their own.
pub const DEFAULT_DUE_OFFSETS_DAYS: [u16; 1] = [3];

/// What kind of notice, for telling apart the ones already sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    DueSoon,
    Missed,
    PromoEnding,
}

/// The notices a debt's log holds: kind, the date they are about, and the offset in days (0 for a miss).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticesSent(BTreeSet<(Kind, NaiveDate, u16)>);

impl NoticesSent {
    /// These notices after `event` (only a notice adds one).
    pub fn after(mut self, event: &EventPayload) -> Self {
        let sent = match event {
            EventPayload::PaymentDueSoon(n) => (Kind::DueSoon, n.due_on, n.days_before),
            EventPayload::PaymentMissed(n) => (Kind::Missed, n.due_on, 0),
            EventPayload::PromoEndingSoon(n) => (Kind::PromoEnding, n.ends_on, n.days_before),
            _ => return self,
        };
        self.0.insert(sent);
        self
    }

    /// Whether a notice of `kind` about `date` went out at `offset` days or nearer to it.
    fn covers(&self, kind: Kind, date: NaiveDate, offset: u16) -> bool {
        self.0
            .range((kind, date, 0)..=(kind, date, offset))
            .next()
            .is_some()
    }
}

/// The offset whose notice is due on `today` for `date`: the nearest of `offsets` that has been reached
/// (`date - offset <= today <= date`), unless it or a nearer one went out. After an outage only the nearest
/// reached offset goes out: the farther ones are past.
fn offset_due(
    offsets: &[u16],
    kind: Kind,
    date: NaiveDate,
    today: NaiveDate,
    sent: &NoticesSent,
) -> Option<u16> {
    let days_left = u16::try_from((date - today).num_days()).ok()?;
    let nearest = offsets.iter().copied().filter(|o| *o >= days_left).min()?;
    (!sent.covers(kind, date, nearest)).then_some(nearest)
}

impl DebtRecord {
    /// The notices due on `today` (the owner's date) for a debt recorded on `tracked_from`, of the kinds
    /// the owner's `settings` name, reminders at their offsets (days before a due date): a payment due soon
    /// while less than its minimum is paid in the cycle (a debt without a minimum gets none), a missed due
    /// date the day after it, a promotion's end at 60, 30 and 7 days. None for a debt that owes nothing.
    pub fn notices(
        &self,
        sent: &NoticesSent,
        today: NaiveDate,
        tracked_from: NaiveDate,
        settings: &NotificationSettings,
    ) -> Vec<EventPayload> {
        let mut notices = self.all_notices(sent, today, tracked_from, &settings.offsets_days);
        notices.retain(|notice| {
            notice_kind(notice).is_some_and(|kind| settings.kinds.contains(&kind))
        });
        notices
    }

    fn all_notices(
        &self,
        sent: &NoticesSent,
        today: NaiveDate,
        tracked_from: NaiveDate,
        offsets: &[u16],
    ) -> Vec<EventPayload> {
        let mut notices = Vec::new();
        let due = self.due_state(today, tracked_from);
        if let Some(cycle) = &due.next {
            let paid = self.paid_between(cycle.closing_date, today);
            let unmet = cycle.minimum_due.is_some_and(|minimum| paid < minimum);
            let offset = offset_due(offsets, Kind::DueSoon, cycle.due_on, today, sent);
            if let (true, Some(days_before)) = (unmet, offset) {
                notices.push(EventPayload::PaymentDueSoon(PaymentDueSoon {
                    due_on: cycle.due_on,
                    minimum_due: cycle.minimum_due,
                    paid,
                    days_before,
                }));
            }
        }
        if let Some(cycle) = &due.missed {
            if !sent.covers(Kind::Missed, cycle.due_on, 0) {
                notices.push(EventPayload::PaymentMissed(PaymentMissed {
                    due_on: cycle.due_on,
                    minimum_due: cycle.minimum_due.unwrap_or(Decimal::ZERO),
                    paid: self.paid_between(cycle.closing_date, cycle.due_on),
                }));
            }
        }
        let promotion = RateStep::in_force(&self.rate_schedule, today)
            .filter(|step| step.kind == RateKind::Promotional)
            .and_then(|step| step.ends_on);
        if let Some(ends_on) = promotion.filter(|_| self.current_balance > Decimal::ZERO) {
            let offset = offset_due(&PROMO_OFFSETS_DAYS, Kind::PromoEnding, ends_on, today, sent);
            if let (Some(days_before), Some(after)) = (offset, ends_on.succ_opt()) {
                notices.push(EventPayload::PromoEndingSoon(PromoEndingSoon {
                    ends_on,
                    days_before,
                    rate_after: self.rate_on(after),
                }));
            }
        }
        notices
    }
}

/// The owner's local hour at which a day's notices fall due: in the morning, not at midnight.
pub const NOTICE_LOCAL_HOUR: u8 = 9;

impl DebtRecord {
    /// The instant the debt's next notice falls due ([`Self::next_notice_day`] at [`NOTICE_LOCAL_HOUR`] in
    /// the owner's `zone`), never before `now`: a notice day whose hour has passed is due at once. `None`
    /// when the debt owes nothing.
    pub fn next_notice_at(
        &self,
        sent: &NoticesSent,
        now: DateTime<Utc>,
        zone: &TimeZoneName,
        tracked_from: NaiveDate,
        settings: &NotificationSettings,
    ) -> Option<DateTime<Utc>> {
        let day = self.next_notice_day(sent, zone.date_at(now), tracked_from, settings)?;
        let at = zone.at_hour(day, NOTICE_LOCAL_HOUR).unwrap_or(now);
        Some(at.max(now))
    }
}

/// Which kind of notice `payload` is, if it is one.
pub fn notice_kind(payload: &EventPayload) -> Option<NoticeKind> {
    match payload {
        EventPayload::PaymentDueSoon(_) => Some(NoticeKind::PaymentDueSoon),
        EventPayload::PaymentMissed(_) => Some(NoticeKind::PaymentMissed),
        EventPayload::PromoEndingSoon(_) => Some(NoticeKind::PromoEndingSoon),
        _ => None,
    }
}

/// How far ahead [`DebtRecord::next_notice_day`] looks: past the farthest notice (a promotion's end 60 days
/// ahead) and a cycle's due date (at most 90 days after a closing a month away) is a re-check, not a notice.
pub const NOTICE_HORIZON_DAYS: u64 = 62;

impl DebtRecord {
    /// The first day from `today` (the owner's date) on which a notice falls due if nothing else is recorded
    /// meanwhile, or the day [`NOTICE_HORIZON_DAYS`] ahead to look again; `None` when the debt owes nothing.
    /// What the notice sweep's time index keys the debt by: any later event recomputes it.
    pub fn next_notice_day(
        &self,
        sent: &NoticesSent,
        today: NaiveDate,
        tracked_from: NaiveDate,
        settings: &NotificationSettings,
    ) -> Option<NaiveDate> {
        if self.current_balance <= Decimal::ZERO {
            return None;
        }
        let horizon = today.checked_add_days(chrono::Days::new(NOTICE_HORIZON_DAYS))?;
        let first = today
            .iter_days()
            .take_while(|day| *day < horizon)
            .find(|day| !self.notices(sent, *day, tracked_from, settings).is_empty());
        Some(first.unwrap_or(horizon))
    }
}
