//! A user's portfolio figures: what one debt contributes (derived from its events) and the summary, which is
//! always the sum of the stored contributions, so no delivery order or repetition can skew it.

use std::collections::BTreeMap;

use domain::DebtView;
use events::PaymentFrequency;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use store::{codec, keys, ReadItem, StoreError};

/// What one debt adds to its owner's figures, stored as a read item in `PORTFOLIO#{owner}` with the debt's
/// version (so an older state never replaces a newer one) and as a tombstone once the debt is deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    pub debt_id: String,
    pub current_balance: Decimal,
    pub principal: Decimal,
    /// Percent per year.
    pub interest_rate: Decimal,
    pub payment_frequency: PaymentFrequency,
}

impl Contribution {
    /// The read item for a debt's current view: a tombstone when it is deleted (it then counts for nothing).
    pub fn read_item(view: &DebtView) -> ReadItem {
        let contribution = Contribution {
            debt_id: view.debt_id.clone(),
            current_balance: view.fields.current_balance,
            principal: view.fields.principal,
            interest_rate: view.fields.interest_rate,
            payment_frequency: view.fields.payment_frequency,
        };
        let attributes = codec::to_attributes(&contribution);
        ReadItem {
            key: keys::portfolio_debt_key(&view.fields.owner, &view.debt_id),
            version: view.version,
            deleted: view.deleted,
            attributes,
        }
    }

    /// Reads a stored contribution; one that does not read is [`StoreError::Corrupt`].
    pub fn from_read_item(item: ReadItem) -> Result<Self, StoreError> {
        let ReadItem {
            key, attributes, ..
        } = item;
        serde_json::from_value(serde_json::Value::Object(attributes)).map_err(|e| {
            StoreError::Corrupt {
                pk: key.pk,
                sk: key.sk,
                reason: format!("contribution: {e}"),
            }
        })
    }
}

/// Open debts and their balance for one payment frequency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrequencyTotals {
    pub open_debts: u64,
    pub total_current_balance: Decimal,
}

/// A user's portfolio, as `GET /users/{username}/summary` serves it. Amounts are decimal strings with two
/// places; the rate has four. Sums are exact; the two derived figures are rounded once, half away from zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortfolioSummary {
    pub username: String,
    pub open_debts: u64,
    pub total_current_balance: Decimal,
    pub total_principal: Decimal,
    /// Σ(balance × rate) / Σ balance; `null` when nothing is owed.
    pub weighted_average_interest_rate: Option<Decimal>,
    /// Σ(balance × rate / 100 / 12): simple interest for one month at today's balances.
    pub estimated_monthly_interest: Decimal,
    /// Keyed by payment frequency; frequencies without an open debt are left out.
    pub by_payment_frequency: BTreeMap<String, FrequencyTotals>,
}

impl PortfolioSummary {
    /// The figures of a user's open debts' contributions.
    pub fn from_contributions<'a>(
        username: &str,
        contributions: impl IntoIterator<Item = &'a Contribution>,
    ) -> Self {
        let mut open_debts = 0;
        let mut balance = Decimal::ZERO;
        let mut principal = Decimal::ZERO;
        let mut balance_times_rate = Decimal::ZERO;
        let mut by_frequency: BTreeMap<String, FrequencyTotals> = BTreeMap::new();
        for c in contributions {
            open_debts += 1;
            balance += c.current_balance;
            principal += c.principal;
            balance_times_rate += c.current_balance * c.interest_rate;
            let totals = by_frequency
                .entry(c.payment_frequency.as_str().to_owned())
                .or_default();
            totals.open_debts += 1;
            totals.total_current_balance += c.current_balance;
        }
        for totals in by_frequency.values_mut() {
            totals.total_current_balance = money(totals.total_current_balance);
        }
        PortfolioSummary {
            username: username.to_owned(),
            open_debts,
            total_current_balance: money(balance),
            total_principal: money(principal),
            weighted_average_interest_rate: (!balance.is_zero())
                .then(|| rounded(balance_times_rate / balance, 4)),
            estimated_monthly_interest: money(balance_times_rate / Decimal::from(1200)),
            by_payment_frequency: by_frequency,
        }
    }
}

fn rounded(value: Decimal, places: u32) -> Decimal {
    let mut value = value.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
    value.rescale(places);
    value
}

/// An amount with exactly two places ("0.00", not "0").
fn money(value: Decimal) -> Decimal {
    rounded(value, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn contribution(
        balance: &str,
        principal: &str,
        rate: &str,
        f: PaymentFrequency,
    ) -> Contribution {
        Contribution {
            debt_id: "d".into(),
            current_balance: Decimal::from_str(balance).unwrap(),
            principal: Decimal::from_str(principal).unwrap(),
            interest_rate: Decimal::from_str(rate).unwrap(),
            payment_frequency: f,
        }
    }

    #[test]
    fn figures_are_exact_sums_rounded_once() {
        let debts = [
            contribution("1000.00", "1200.00", "5", PaymentFrequency::Monthly),
            contribution("333.33", "500.00", "19.99", PaymentFrequency::Monthly),
            contribution("0.01", "10.00", "0.0001", PaymentFrequency::Weekly),
        ];
        let summary = PortfolioSummary::from_contributions("alice", &debts);
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["open_debts"], 3);
        assert_eq!(json["total_current_balance"], "1333.34");
        assert_eq!(json["total_principal"], "1710.00");
        // (1000*5 + 333.33*19.99 + 0.01*0.0001) / 1333.34 = 11663.2667... / 1333.34 = 8.7473...
        assert_eq!(json["weighted_average_interest_rate"], "8.7474");
        // 11663.266701 / 1200 = 9.7193889...
        assert_eq!(json["estimated_monthly_interest"], "9.72");
        assert_eq!(json["by_payment_frequency"]["monthly"]["open_debts"], 2);
        assert_eq!(
            json["by_payment_frequency"]["monthly"]["total_current_balance"],
            "1333.33"
        );
        assert_eq!(
            json["by_payment_frequency"]["weekly"]["total_current_balance"],
            "0.01"
        );
        assert!(json["by_payment_frequency"].get("annually").is_none());
    }

    #[test]
    fn nothing_owed_has_no_average_rate() {
        let summary = PortfolioSummary::from_contributions("bob", &[]);
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["open_debts"], 0);
        assert_eq!(json["total_current_balance"], "0.00");
        assert_eq!(
            json["weighted_average_interest_rate"],
            serde_json::Value::Null
        );
        assert_eq!(json["estimated_monthly_interest"], "0.00");
        let paid_off = [contribution(
            "0.00",
            "100.00",
            "7",
            PaymentFrequency::Annually,
        )];
        let json =
            serde_json::to_value(PortfolioSummary::from_contributions("bob", &paid_off)).unwrap();
        assert_eq!(json["open_debts"], 1);
        assert_eq!(
            json["weighted_average_interest_rate"],
            serde_json::Value::Null
        );
    }
}
