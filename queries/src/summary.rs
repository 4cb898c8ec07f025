//! `GET /users/{username}/summary`: a user's portfolio figures, summed from the per-debt contributions the
//! analytics consumer keeps in `PORTFOLIO#{username}` (tombstones of deleted debts are left out by the query).

use chrono::NaiveDate;
use read_model::{Contribution, PortfolioSummary};
use store::{keys, query_all, EventStore, Query, ReadItem, StoreError};

/// A user's portfolio summary on `today`: the sum of their debts' stored contributions.
pub async fn portfolio_summary(
    store: &dyn EventStore,
    username: &str,
    today: NaiveDate,
) -> Result<PortfolioSummary, StoreError> {
    let query = Query::partition(keys::portfolio_pk(username), keys::DEBT_SK_PREFIX).limit(1000);
    let contributions = query_all(store, query)
        .await?
        .into_iter()
        .map(|item| Contribution::from_read_item(ReadItem::decode(item)?))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(PortfolioSummary::from_contributions(
        username,
        &contributions,
        today,
    ))
}
