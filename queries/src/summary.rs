//! `GET /users/{username}/summary`: a user's portfolio figures, summed from the per-debt contributions the
//! analytics consumer keeps in `PORTFOLIO#{username}` (tombstones of deleted debts are left out by the query).

use chrono::NaiveDate;
use read_model::{Contribution, PortfolioSummary};
use store::{keys, query_all_read_items, Query, ReadModel, StoreError};

/// A user's portfolio summary on `today`: the sum of their debts' stored contributions.
pub async fn portfolio_summary(
    read_model: &dyn ReadModel,
    username: &str,
    today: NaiveDate,
) -> Result<PortfolioSummary, StoreError> {
    let query = Query::partition(keys::portfolio_pk(username), keys::DEBT_SK_PREFIX).limit(1000);
    let contributions = query_all_read_items(read_model, query)
        .await?
        .into_iter()
        .map(Contribution::from_read_item)
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(PortfolioSummary::from_contributions(
        username,
        &contributions,
        today,
    ))
}
