//! The Debt aggregate: created by its owner, updated field by field, paid down by payments, raised by
//! charges, deleted once and for good.

use chrono::NaiveDate;
use events::{
    BookedCharge, BookedKind, ChargeAdded, ChargeKind, DebtChanges, DebtCreated, DebtDeleted,
    DebtTerms, DebtUpdated, EventPayload, InterestMethod, PaymentFrequency, PaymentRecorded,
    Personal, RateChanged, RateKind, StatementRecorded,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use strum::{EnumString, IntoStaticStr};
use thiserror::Error;

use crate::decider::Decider;
use crate::values::{
    Creditor, Day, DebtName, DueDays, InterestRate, Money, Note, StartDate, StatementDay, Username,
};

mod dated;
mod due;
mod notices;
pub use dated::{cycle_start, DatedBalance};
pub use due::{Cycle, DueState, PAYMENT_DAYS_KEPT};
pub use notices::{
    notice_kind, NoticesSent, DEFAULT_DUE_OFFSETS_DAYS, NOTICE_HORIZON_DAYS, NOTICE_LOCAL_HOUR,
    PROMO_OFFSETS_DAYS,
};

/// A debt's terms as a request states them, parsed; `None` keeps the default (in a patch, the value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NewTerms {
    pub statement_day: Option<StatementDay>,
    pub due_days: Option<DueDays>,
    pub interest_method: Option<InterestMethod>,
}

impl NewTerms {
    fn stated(self) -> DebtTerms {
        DebtTerms {
            statement_day: self.statement_day.map(StatementDay::day),
            due_days: self.due_days.map(DueDays::days),
            interest_method: self.interest_method,
        }
    }
}

/// Every field of a new debt, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDebt {
    pub debt_name: DebtName,
    pub principal: Money,
    pub interest_rate: InterestRate,
    pub start_date: StartDate,
    pub payment_frequency: PaymentFrequency,
    pub current_balance: Money,
    pub creditor: Option<Creditor>,
    pub minimum_payment: Option<Money>,
    pub terms: NewTerms,
}

impl NewDebt {
    /// The event of this debt recorded by `owner`, or why it is refused.
    fn created_by(&self, owner: &Username) -> Result<EventPayload, DebtError> {
        if self.principal.is_zero() {
            return Err(DebtError::PrincipalNotPositive);
        }
        Ok(EventPayload::DebtCreated(DebtCreated {
            owner: owner.as_str().to_owned(),
            debt_name: self.debt_name.as_str().into(),
            principal: self.principal.amount(),
            interest_rate: self.interest_rate.percent(),
            start_date: self.start_date.date(),
            payment_frequency: self.payment_frequency,
            current_balance: self.current_balance.amount(),
            creditor: self.creditor.as_ref().map(|c| c.as_str().into()),
            minimum_payment: self.minimum_payment.map(Money::amount),
            terms: self.terms.stated(),
        }))
    }
}

/// The fields a caller wants to set; `None` leaves a field alone, `creditor: Some(None)` clears it.
/// There is no owner here: a debt's owner never changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DebtPatch {
    pub debt_name: Option<DebtName>,
    pub principal: Option<Money>,
    pub interest_rate: Option<InterestRate>,
    pub start_date: Option<StartDate>,
    pub payment_frequency: Option<PaymentFrequency>,
    pub current_balance: Option<Money>,
    pub creditor: Option<Option<Creditor>>,
    pub minimum_payment: Option<Option<Money>>,
    pub terms: NewTerms,
}

/// A lender's statement as the caller copies it: the closing balance, the minimum due, and what the
/// statement says it charged, when it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStatement {
    pub closing_date: Day,
    pub statement_balance: Money,
    pub minimum_due: Money,
    pub due_date: Option<Day>,
    pub interest_charged: Option<Money>,
    pub fees_charged: Option<Money>,
}

impl NewStatement {
    /// Whether `recorded` is this statement (the same closing, figures and due date `due_date`): its retry.
    fn is_recorded_as(&self, recorded: &StatementRecorded, due_date: NaiveDate) -> bool {
        recorded.closing_date == self.closing_date.date()
            && recorded.statement_balance == self.statement_balance.amount()
            && recorded.minimum_due == self.minimum_due.amount()
            && recorded.due_date == due_date
            && recorded.interest_charged == self.interest_charged.map(Money::amount)
            && recorded.fees_charged == self.fees_charged.map(Money::amount)
    }

    /// What books `difference` (not zero) on the closing date: the statement's interest, then its fees,
    /// then whatever remains as an adjustment (a credit when below zero), so the amounts sum to it.
    fn booking(&self, difference: Decimal) -> Vec<BookedCharge> {
        if difference.is_zero() {
            return Vec::new();
        }
        let stated = [
            (BookedKind::Interest, self.interest_charged),
            (BookedKind::Fee, self.fees_charged),
        ];
        let mut booked: Vec<BookedCharge> = stated
            .into_iter()
            .filter_map(|(kind, amount)| {
                let amount = amount.filter(|a| !a.is_zero())?.amount();
                Some(BookedCharge { kind, amount })
            })
            .collect();
        let rest = booked.iter().fold(difference, |rest, b| rest - b.amount);
        if !rest.is_zero() {
            booked.push(BookedCharge {
                kind: BookedKind::Adjustment,
                amount: rest,
            });
        }
        booked
    }
}

/// A payment as the caller reports it; `amount` is more than zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub amount: Money,
    pub paid_on: Day,
    pub note: Option<Note>,
}

/// A charge as the caller reports it; `amount` is more than zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub amount: Money,
    pub charged_on: Day,
    pub kind: ChargeKind,
    pub note: Option<Note>,
}

/// A step of a debt's rate schedule as the caller gives it: `rate` from `effective_on`, through `ends_on`
/// when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRate {
    pub rate: InterestRate,
    pub effective_on: Day,
    pub ends_on: Option<Day>,
    pub kind: RateKind,
}

impl NewRate {
    /// The event data this step is recorded as, once the decider accepts it.
    pub fn changed(&self) -> RateChanged {
        RateChanged {
            rate: self.rate.percent(),
            effective_on: self.effective_on.date(),
            ends_on: self.ends_on.map(Day::date),
            kind: self.kind,
        }
    }
}

/// One step of a debt's rate schedule, as its `RateChanged` recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateStep {
    pub rate: Decimal,
    #[serde(
        serialize_with = "crate::wire::write_day",
        deserialize_with = "crate::wire::read_day"
    )]
    pub effective_on: NaiveDate,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::wire::write_optional_day",
        deserialize_with = "crate::wire::read_optional_day"
    )]
    pub ends_on: Option<NaiveDate>,
    pub kind: RateKind,
}

impl From<&RateChanged> for RateStep {
    fn from(changed: &RateChanged) -> Self {
        RateStep {
            rate: changed.rate,
            effective_on: changed.effective_on,
            ends_on: changed.ends_on,
            kind: changed.kind,
        }
    }
}

impl RateStep {
    fn in_force_on(&self, day: NaiveDate) -> bool {
        self.effective_on <= day && self.ends_on.is_none_or(|end| day <= end)
    }

    /// The step of `schedule` (by `effective_on`, as a record keeps it) in force on `day`: the one that took
    /// effect last and has not ended by then.
    pub fn in_force(schedule: &[RateStep], day: NaiveDate) -> Option<&RateStep> {
        schedule.iter().rev().find(|step| step.in_force_on(day))
    }
}

impl Payment {
    /// The event data this payment is recorded as, once the decider accepts it.
    pub fn recorded(&self) -> PaymentRecorded {
        PaymentRecorded {
            amount: self.amount.amount(),
            paid_on: self.paid_on.date(),
            note: self.note.as_ref().map(|n| Personal::from(n.as_str())),
        }
    }
}

impl Charge {
    /// The event data this charge is recorded as, once the decider accepts it.
    pub fn added(&self) -> ChargeAdded {
        ChargeAdded {
            amount: self.amount.amount(),
            charged_on: self.charged_on.date(),
            kind: self.kind,
            note: self.note.as_ref().map(|n| Personal::from(n.as_str())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebtCommand {
    Create {
        owner: Username,
        debt: NewDebt,
    },
    /// `today` is the UTC date the command is decided on: a corrected balance holds from it.
    Update {
        actor: Username,
        patch: DebtPatch,
        today: NaiveDate,
    },
    Delete {
        actor: Username,
        reason: Option<String>,
    },
    /// `today` is the UTC date the command is decided on: no payment is dated after it.
    RecordPayment {
        actor: Username,
        payment: Payment,
        today: NaiveDate,
    },
    AddCharge {
        actor: Username,
        charge: Charge,
        today: NaiveDate,
    },
    /// A step of the lender's rate schedule; it may lie in the future.
    ChangeRate {
        actor: Username,
        step: NewRate,
    },
    /// The notices due on `today` (the owner's date) for a debt recorded on `tracked_from`, as the owner's
    /// notification settings say (kinds, reminder offsets): what the notice sweep asks. Nothing for a debt
    /// that is gone.
    Notify {
        today: NaiveDate,
        tracked_from: NaiveDate,
        settings: events::NotificationSettings,
    },
    /// The lender's statement, reconciled against the debt's balance by effective date.
    RecordStatement {
        actor: Username,
        statement: NewStatement,
        today: NaiveDate,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DebtError {
    #[error("a debt with this id already exists")]
    AlreadyExists,
    /// The debt does not exist or belongs to someone else; the two are indistinguishable on purpose.
    #[error("debt not found")]
    NotFound,
    #[error("the debt has been deleted")]
    Deleted,
    #[error("principal must be greater than zero")]
    PrincipalNotPositive,
    #[error("the debt is paid off")]
    PaidOff,
    #[error("the payment is more than the balance of {balance}")]
    PaymentExceedsBalance { balance: Decimal },
    #[error("the balance would exceed {max}", max = Money::MAX)]
    BalanceTooLarge,
    #[error("{field} is after today ({today})")]
    DayInFuture {
        field: &'static str,
        today: NaiveDate,
    },
    #[error("{field} is before the debt's start date ({start_date})")]
    DayBeforeStart {
        field: &'static str,
        start_date: NaiveDate,
    },
    #[error("a rate step ends ({ends_on}) before it takes effect")]
    RateEndsBeforeItStarts { ends_on: NaiveDate },
    #[error("the rate schedule holds {max} steps, the most a debt keeps", max = crate::limits::MAX_RATE_STEPS)]
    TooManyRateSteps,
    /// The day falls in a cycle a statement closed: the statement already holds whatever moved then.
    #[error("{field} is on or before the last statement's closing date ({closing_date}), which it holds")]
    InClosedCycle {
        field: &'static str,
        closing_date: NaiveDate,
    },
    #[error("start_date is after the last statement's closing date ({closing_date})")]
    StartAfterStatement { closing_date: NaiveDate },
    #[error("a statement closing on {last} is recorded; a statement must close after it")]
    StatementNotAfterLast { last: NaiveDate },
    #[error("due_date is before closing_date")]
    DueBeforeClosing,
    #[error("minimum_due is more than statement_balance")]
    MinimumAboveBalance,
    #[error("the statement would leave a balance of {balance} after the payments dated since its closing")]
    StatementBelowLaterMoves { balance: Decimal },
}

/// Whether anything is still owed on a debt.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    IntoStaticStr,
    EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DebtStatus {
    /// Something may still be owed (an update can set the balance to zero without paying it off).
    #[default]
    Open,
    /// A payment took the balance to zero, and no charge or update has raised it since.
    PaidOff,
    /// Never stored: what a read shows for an open debt whose last due date passed with less than its
    /// minimum paid in its cycle.
    Overdue,
}

impl DebtStatus {
    /// The name serde writes (`paid_off`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses a status by its exact name (`paid_off`).
    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }
}

pub(crate) fn zero_cents() -> Decimal {
    Decimal::new(0, 2)
}

/// A debt's fields as its events describe them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DebtRecord {
    pub owner: String,
    pub debt_name: String,
    pub principal: Decimal,
    pub interest_rate: Decimal,
    #[serde(
        serialize_with = "crate::wire::write_day",
        deserialize_with = "crate::wire::read_day"
    )]
    pub start_date: NaiveDate,
    pub payment_frequency: PaymentFrequency,
    pub current_balance: Decimal,
    pub creditor: Option<String>,
    // The fields below came with payments and charges; `default` reads read items stored before them.
    #[serde(default)]
    pub minimum_payment: Option<Decimal>,
    #[serde(default)]
    pub status: DebtStatus,
    /// The sum of every payment recorded.
    #[serde(default = "zero_cents")]
    pub total_paid: Decimal,
    /// The sum of every charge added.
    #[serde(default = "zero_cents")]
    pub total_charged: Decimal,
    /// The latest `paid_on` of any payment.
    #[serde(
        default,
        serialize_with = "crate::wire::write_optional_day",
        deserialize_with = "crate::wire::read_optional_day"
    )]
    pub last_payment_on: Option<NaiveDate>,
    /// While paid off: the latest `paid_on` of the payments that cleared the balance.
    #[serde(
        default,
        serialize_with = "crate::wire::write_optional_day",
        deserialize_with = "crate::wire::read_optional_day"
    )]
    pub paid_off_on: Option<NaiveDate>,
    /// The lender's rate steps, by `effective_on` (steps of one day in the order recorded); absent when
    /// there are none, so debts without a schedule read as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_schedule: Vec<RateStep>,
    /// The day of the month a statement closes (1-28).
    pub statement_day: u8,
    /// Days from a statement's closing to its due date.
    pub due_days: u16,
    pub interest_method: InterestMethod,
    /// The latest statement recorded, as its event holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_statement: Option<StatementRecorded>,
    /// Payments by `paid_on`, for the [`PAYMENT_DAYS_KEPT`] days up to the latest: what a due-date check
    /// needs.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub payments_by_day: std::collections::BTreeMap<NaiveDate, Decimal>,
}

impl DebtRecord {
    fn from_created(created: &DebtCreated) -> Self {
        DebtRecord {
            owner: created.owner.clone(),
            debt_name: created.debt_name.to_shown(),
            principal: created.principal,
            interest_rate: created.interest_rate,
            start_date: created.start_date,
            payment_frequency: created.payment_frequency,
            current_balance: created.current_balance,
            creditor: created.creditor.as_ref().map(Personal::to_shown),
            minimum_payment: created.minimum_payment,
            status: DebtStatus::Open,
            total_paid: zero_cents(),
            total_charged: zero_cents(),
            last_payment_on: None,
            paid_off_on: None,
            rate_schedule: Vec::new(),
            statement_day: created
                .terms
                .statement_day
                .unwrap_or_else(|| StatementDay::of_start(created.start_date).day()),
            due_days: created.terms.due_days.unwrap_or(DueDays::DEFAULT.days()),
            interest_method: created
                .terms
                .interest_method
                .unwrap_or(InterestMethod::Monthly),
            last_statement: None,
            payments_by_day: std::collections::BTreeMap::new(),
        }
    }

    /// The closing date of the latest statement, when there is one.
    pub fn last_closing(&self) -> Option<NaiveDate> {
        self.last_statement.as_ref().map(|s| s.closing_date)
    }

    /// Refuses a movement dated in a cycle a statement closed.
    fn check_open_cycle(&self, field: &'static str, day: NaiveDate) -> Result<(), DebtError> {
        match self.last_closing() {
            Some(closing_date) if day <= closing_date => Err(DebtError::InClosedCycle {
                field,
                closing_date,
            }),
            _ => Ok(()),
        }
    }

    /// The event of `statement` on this debt, whose balance by effective date is `dated`, or why it is
    /// refused; no event for a retry of the latest statement.
    fn statement(
        &self,
        dated: &DatedBalance,
        statement: &NewStatement,
        today: NaiveDate,
    ) -> Result<Vec<EventPayload>, DebtError> {
        let closing_date = statement.closing_date.date();
        self.check_day("closing_date", statement.closing_date, today)?;
        let due_date = statement.due_date.map_or_else(
            || closing_date + chrono::Days::new(u64::from(self.due_days)),
            Day::date,
        );
        if due_date < closing_date {
            return Err(DebtError::DueBeforeClosing);
        }
        if statement.minimum_due > statement.statement_balance {
            return Err(DebtError::MinimumAboveBalance);
        }
        if let Some(last) = &self.last_statement {
            if statement.is_recorded_as(last, due_date) {
                return Ok(Vec::new());
            }
            if closing_date <= last.closing_date {
                return Err(DebtError::StatementNotAfterLast {
                    last: last.closing_date,
                });
            }
        }
        let expected_balance = dated.on(self.start_date, closing_date);
        let difference = statement.statement_balance.amount() - expected_balance;
        let balance = self.current_balance + difference;
        if balance < Decimal::ZERO {
            return Err(DebtError::StatementBelowLaterMoves { balance });
        }
        if balance > Money::MAX {
            return Err(DebtError::BalanceTooLarge);
        }
        let model_interest = self
            .model_interest(dated, closing_date, expected_balance)
            .ok_or(DebtError::BalanceTooLarge)?;
        Ok(vec![EventPayload::StatementRecorded(StatementRecorded {
            closing_date,
            statement_balance: statement.statement_balance.amount(),
            minimum_due: statement.minimum_due.amount(),
            due_date,
            interest_charged: statement.interest_charged.map(Money::amount),
            fees_charged: statement.fees_charged.map(Money::amount),
            expected_balance,
            difference,
            model_interest,
            booked: statement.booking(difference),
        })])
    }

    /// The interest the debt's own method works out for the cycle closing on `closing_date`, whose balance
    /// on that day is `closing_balance` (`docs/planning.md`, "Interest methods").
    pub fn model_interest(
        &self,
        dated: &DatedBalance,
        closing_date: NaiveDate,
        closing_balance: Decimal,
    ) -> Option<Decimal> {
        match self.interest_method {
            InterestMethod::Monthly => Some(crate::plan::interest(
                closing_balance,
                self.rate_on(closing_date),
            )),
            InterestMethod::Daily => {
                let first = cycle_start(closing_date, self.start_date, self.last_closing());
                crate::plan::daily_interest(
                    dated
                        .each_day(self.start_date, first, closing_date)
                        .map(|(day, balance)| (balance, self.rate_on(day), 1)),
                )
            }
        }
    }

    /// The interest the model accrues from the day after the last statement's closing through `today`, shown
    /// and never booked: an estimate, today's balance as if it had stood since the closing, at each day's
    /// rate / 36500 (the daily rule, whatever the debt's method: a monthly lender charges at the next
    /// closing, about this much). `None` without a statement.
    ///
    /// The days are taken in runs between the days the rate schedule can change on (each step's first day
    /// and the day after its last), so the work is bounded by the schedule's 100 steps, not by how long ago
    /// the statement closed.
    pub fn estimated_interest_since_statement(&self, today: NaiveDate) -> Option<Decimal> {
        let first = self.last_closing()?.succ_opt()?;
        // Read on or before the closing (`?on=` an earlier day): no day has passed since.
        let end = today.succ_opt()?.max(first);
        let changes = self
            .rate_schedule
            .iter()
            .flat_map(|step| {
                [
                    Some(step.effective_on),
                    step.ends_on.and_then(|d| d.succ_opt()),
                ]
            })
            .flatten()
            .filter(|day| first < *day && *day < end);
        let mut bounds: Vec<NaiveDate> = std::iter::once(first).chain(changes).collect();
        bounds.sort_unstable();
        bounds.dedup();
        let runs = bounds
            .iter()
            .zip(bounds.iter().skip(1).chain([&end]))
            .map(|(from, to)| {
                let days = u32::try_from((*to - *from).num_days()).unwrap_or(0);
                (self.current_balance, self.rate_on(*from), days)
            });
        crate::plan::daily_interest(runs)
    }

    /// This record after a statement: the booked charges move the balance by the difference (a credit
    /// lowers `total_charged`), and the statement is the latest.
    fn stated(mut self, statement: &StatementRecorded) -> Self {
        self.current_balance += statement.difference;
        self.total_charged += statement.difference;
        self.reopen_if_owed();
        self.last_statement = Some(statement.clone());
        self
    }

    /// The rate in force on `day`: the step that took effect last (on or before `day`, the later recorded
    /// of one day) and has not ended by then; with none, the debt's `interest_rate`. So when a promotion
    /// ends, the rate in force before it applies again.
    pub fn rate_on(&self, day: NaiveDate) -> Decimal {
        self.step_on(day)
            .map_or(self.interest_rate, |step| step.rate)
    }

    /// The last day of the promotional rate in force on `day`, when one is and it ends.
    pub fn promo_ends_on(&self, day: NaiveDate) -> Option<NaiveDate> {
        self.step_on(day)
            .filter(|step| step.kind == RateKind::Promotional)
            .and_then(|step| step.ends_on)
    }

    fn step_on(&self, day: NaiveDate) -> Option<&RateStep> {
        RateStep::in_force(&self.rate_schedule, day)
    }

    /// This record with one more rate step, in its place by `effective_on`.
    fn rate_changed(mut self, changed: &RateChanged) -> Self {
        let at = self
            .rate_schedule
            .partition_point(|step| step.effective_on <= changed.effective_on);
        self.rate_schedule.insert(at, RateStep::from(changed));
        self
    }

    /// The event of a new rate step on this debt, or why it is refused.
    fn rate_step(&self, step: &NewRate) -> Result<EventPayload, DebtError> {
        if step.effective_on.date() < self.start_date {
            return Err(DebtError::DayBeforeStart {
                field: "effective_on",
                start_date: self.start_date,
            });
        }
        if let Some(ends_on) = step.ends_on {
            if ends_on.date() < step.effective_on.date() {
                return Err(DebtError::RateEndsBeforeItStarts {
                    ends_on: ends_on.date(),
                });
            }
        }
        if self.rate_schedule.len() >= crate::limits::MAX_RATE_STEPS {
            return Err(DebtError::TooManyRateSteps);
        }
        Ok(EventPayload::RateChanged(step.changed()))
    }

    /// This record after a payment: the balance goes down, and at zero the debt is paid off.
    fn paid(mut self, payment: &PaymentRecorded) -> Self {
        self.payments_by_day = due::with_payment(
            std::mem::take(&mut self.payments_by_day),
            payment.paid_on,
            payment.amount,
        );
        self.current_balance -= payment.amount;
        self.total_paid += payment.amount;
        let last = self
            .last_payment_on
            .map_or(payment.paid_on, |d| d.max(payment.paid_on));
        self.last_payment_on = Some(last);
        if self.current_balance.is_zero() {
            self.status = DebtStatus::PaidOff;
            self.paid_off_on = Some(last);
        }
        self
    }

    /// This record after a charge: the balance goes up, and a paid-off debt is open again.
    fn charged(mut self, charge: &ChargeAdded) -> Self {
        self.current_balance += charge.amount;
        self.total_charged += charge.amount;
        self.reopen_if_owed();
        self
    }

    fn reopen_if_owed(&mut self) {
        if self.current_balance > Decimal::ZERO {
            self.status = DebtStatus::Open;
            self.paid_off_on = None;
        }
    }

    /// The event of `payment` on this debt on `today`, or why it is refused.
    fn payment(&self, payment: &Payment, today: NaiveDate) -> Result<EventPayload, DebtError> {
        if self.status == DebtStatus::PaidOff {
            return Err(DebtError::PaidOff);
        }
        self.check_movement_day("paid_on", payment.paid_on, today)?;
        if payment.amount.amount() > self.current_balance {
            return Err(DebtError::PaymentExceedsBalance {
                balance: self.current_balance,
            });
        }
        Ok(EventPayload::PaymentRecorded(payment.recorded()))
    }

    /// The event of `charge` on this debt on `today`, or why it is refused.
    fn charge(&self, charge: &Charge, today: NaiveDate) -> Result<EventPayload, DebtError> {
        self.check_movement_day("charged_on", charge.charged_on, today)?;
        if self.current_balance + charge.amount.amount() > Money::MAX {
            return Err(DebtError::BalanceTooLarge);
        }
        Ok(EventPayload::ChargeAdded(charge.added()))
    }

    /// Refuses a day after `today` or before the debt started.
    fn check_day(&self, field: &'static str, day: Day, today: NaiveDate) -> Result<(), DebtError> {
        if day.date() > today {
            return Err(DebtError::DayInFuture { field, today });
        }
        if day.date() < self.start_date {
            return Err(DebtError::DayBeforeStart {
                field,
                start_date: self.start_date,
            });
        }
        Ok(())
    }

    /// Refuses a movement's day after `today`, before the debt started, or in a cycle a statement closed.
    fn check_movement_day(
        &self,
        field: &'static str,
        day: Day,
        today: NaiveDate,
    ) -> Result<(), DebtError> {
        self.check_day(field, day, today)?;
        self.check_open_cycle(field, day.date())
    }

    /// This record with `changes` applied.
    pub fn apply(mut self, changes: &DebtChanges) -> Self {
        let DebtChanges {
            debt_name,
            principal,
            interest_rate,
            start_date,
            payment_frequency,
            current_balance,
            creditor,
            minimum_payment,
            terms,
            balance_on: _,
        } = changes;
        if let Some(v) = debt_name {
            self.debt_name = v.to_shown();
        }
        if let Some(v) = principal {
            self.principal = *v;
        }
        if let Some(v) = interest_rate {
            self.interest_rate = *v;
        }
        if let Some(v) = start_date {
            self.start_date = *v;
        }
        if let Some(v) = payment_frequency {
            self.payment_frequency = *v;
        }
        if let Some(v) = current_balance {
            self.current_balance = *v;
        }
        if let Some(v) = creditor {
            self.creditor = v.as_ref().map(Personal::to_shown);
        }
        if let Some(v) = minimum_payment {
            self.minimum_payment = *v;
        }
        if let Some(v) = terms.statement_day {
            self.statement_day = v;
        }
        if let Some(v) = terms.due_days {
            self.due_days = v;
        }
        if let Some(v) = terms.interest_method {
            self.interest_method = v;
        }
        // A corrected balance above zero means something is owed again.
        if current_balance.is_some() {
            self.reopen_if_owed();
        }
        self
    }

    /// The part of `patch` that differs from this record, as event data; a corrected balance holds from
    /// `today`.
    fn changes_from(&self, patch: &DebtPatch, today: NaiveDate) -> DebtChanges {
        fn differing<T: PartialEq>(new: Option<T>, current: &T) -> Option<T> {
            new.filter(|value| value != current)
        }
        let mut changes = DebtChanges {
            debt_name: differing(
                patch.debt_name.as_ref().map(|n| n.as_str().to_owned()),
                &self.debt_name,
            )
            .map(Personal::Clear),
            principal: differing(patch.principal.map(Money::amount), &self.principal),
            interest_rate: differing(
                patch.interest_rate.map(InterestRate::percent),
                &self.interest_rate,
            ),
            start_date: differing(patch.start_date.map(StartDate::date), &self.start_date),
            payment_frequency: differing(patch.payment_frequency, &self.payment_frequency),
            current_balance: differing(
                patch.current_balance.map(Money::amount),
                &self.current_balance,
            ),
            creditor: differing(
                patch
                    .creditor
                    .as_ref()
                    .map(|c| c.as_ref().map(|c| c.as_str().to_owned())),
                &self.creditor,
            )
            .map(|c| c.map(Personal::Clear)),
            minimum_payment: differing(
                patch.minimum_payment.map(|m| m.map(Money::amount)),
                &self.minimum_payment,
            ),
            terms: DebtTerms {
                statement_day: differing(
                    patch.terms.statement_day.map(StatementDay::day),
                    &self.statement_day,
                ),
                due_days: differing(patch.terms.due_days.map(DueDays::days), &self.due_days),
                interest_method: differing(patch.terms.interest_method, &self.interest_method),
            },
            balance_on: None,
        };
        if changes.current_balance.is_some() {
            changes.balance_on = Some(today);
        }
        changes
    }

    /// The update `patch` makes on `today`, or why it is refused: a corrected balance or a start moved into
    /// a cycle a statement closed would change what that statement reconciled.
    fn update(&self, patch: &DebtPatch, today: NaiveDate) -> Result<Vec<EventPayload>, DebtError> {
        if patch.principal.is_some_and(Money::is_zero) {
            return Err(DebtError::PrincipalNotPositive);
        }
        let changes = self.changes_from(patch, today);
        if changes.is_empty() {
            return Ok(vec![]);
        }
        if changes.current_balance.is_some() {
            self.check_open_cycle("current_balance", today)?;
        }
        if let (Some(start_date), Some(closing_date)) = (changes.start_date, self.last_closing()) {
            if start_date > closing_date {
                return Err(DebtError::StartAfterStatement { closing_date });
            }
        }
        Ok(vec![EventPayload::DebtUpdated(DebtUpdated { changes })])
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum DebtState {
    #[default]
    NotCreated,
    Open(DebtRecord),
    /// Deleted debts keep their last fields: history and audits still read them.
    Deleted(DebtRecord),
}

/// What the Debt decider decides on: the debt's record, and its balance by effective date (which a
/// statement reconciles against), both folded from its events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DebtAggregate {
    pub state: DebtState,
    pub dated: DatedBalance,
    /// The notices its log holds, so none goes out twice.
    pub notices: NoticesSent,
}

impl DebtState {
    /// The record after one more event (the read side's fold: it needs no dated balance).
    pub fn evolve(self, event: &EventPayload) -> DebtState {
        match (self, event) {
            (DebtState::NotCreated, EventPayload::DebtCreated(created)) => {
                DebtState::Open(DebtRecord::from_created(created))
            }
            (DebtState::Open(debt), EventPayload::DebtUpdated(updated)) => {
                DebtState::Open(debt.apply(&updated.changes))
            }
            (DebtState::Open(debt), EventPayload::PaymentRecorded(payment)) => {
                DebtState::Open(debt.paid(payment))
            }
            (DebtState::Open(debt), EventPayload::ChargeAdded(charge)) => {
                DebtState::Open(debt.charged(charge))
            }
            (DebtState::Open(debt), EventPayload::RateChanged(changed)) => {
                DebtState::Open(debt.rate_changed(changed))
            }
            (DebtState::Open(debt), EventPayload::StatementRecorded(statement)) => {
                DebtState::Open(debt.stated(statement))
            }
            (DebtState::Open(debt), EventPayload::DebtDeleted(_)) => DebtState::Deleted(debt),
            (state, _) => state,
        }
    }
}

pub struct Debt;

impl Debt {
    /// The open debt `actor` may change, or why not. Someone else's debt reads as not found.
    pub fn owned_by<'s>(
        state: &'s DebtState,
        actor: &Username,
    ) -> Result<&'s DebtRecord, DebtError> {
        match state {
            DebtState::NotCreated => Err(DebtError::NotFound),
            DebtState::Open(debt) | DebtState::Deleted(debt) if debt.owner != actor.as_str() => {
                Err(DebtError::NotFound)
            }
            DebtState::Deleted(_) => Err(DebtError::Deleted),
            DebtState::Open(debt) => Ok(debt),
        }
    }
}

impl Decider for Debt {
    type Command = DebtCommand;
    type State = DebtAggregate;
    type Error = DebtError;

    fn decide(
        command: &DebtCommand,
        aggregate: &DebtAggregate,
    ) -> Result<Vec<EventPayload>, DebtError> {
        let state = &aggregate.state;
        match command {
            DebtCommand::Create { owner, debt } => {
                if *state != DebtState::NotCreated {
                    return Err(DebtError::AlreadyExists);
                }
                debt.created_by(owner).map(|created| vec![created])
            }
            DebtCommand::Update {
                actor,
                patch,
                today,
            } => Self::owned_by(state, actor)?.update(patch, *today),
            DebtCommand::Delete { actor, reason } => {
                Self::owned_by(state, actor)?;
                Ok(vec![EventPayload::DebtDeleted(DebtDeleted {
                    reason: reason.as_deref().map(Personal::from),
                })])
            }
            DebtCommand::RecordPayment {
                actor,
                payment,
                today,
            } => {
                let debt = Self::owned_by(state, actor)?;
                Ok(vec![debt.payment(payment, *today)?])
            }
            DebtCommand::AddCharge {
                actor,
                charge,
                today,
            } => {
                let debt = Self::owned_by(state, actor)?;
                Ok(vec![debt.charge(charge, *today)?])
            }
            DebtCommand::ChangeRate { actor, step } => {
                let debt = Self::owned_by(state, actor)?;
                Ok(vec![debt.rate_step(step)?])
            }
            DebtCommand::RecordStatement {
                actor,
                statement,
                today,
            } => Self::owned_by(state, actor)?.statement(&aggregate.dated, statement, *today),
            DebtCommand::Notify {
                today,
                tracked_from,
                settings,
            } => Ok(match state {
                DebtState::Open(debt) => {
                    debt.notices(&aggregate.notices, *today, *tracked_from, settings)
                }
                DebtState::NotCreated | DebtState::Deleted(_) => Vec::new(),
            }),
        }
    }

    fn evolve(aggregate: DebtAggregate, event: &EventPayload) -> DebtAggregate {
        let DebtAggregate {
            state,
            dated,
            notices,
        } = aggregate;
        let dated = match &state {
            DebtState::NotCreated => dated.after(None, event),
            DebtState::Open(debt) => dated.after(Some(debt), event),
            DebtState::Deleted(_) => dated,
        };
        DebtAggregate {
            state: state.evolve(event),
            dated,
            notices: notices.after(event),
        }
    }
}

#[cfg(test)]
mod tests;
