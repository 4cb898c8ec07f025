//! The read side's items, the one contract between the writers of projections (the projector, replay, the
//! analytics consumer) and their readers (the query handlers): a debt's and a user's view as read items
//! ([`items`]), and a debt's contribution to its owner's portfolio with the summary summed from them
//! ([`portfolio`]).

pub mod items;
pub mod notices;
pub mod portfolio;
pub mod progress;

pub use items::{debt_item, debt_view, erased_user_item, live_view, user_item, ReadView};
pub use portfolio::{
    Contribution, ContributionFold, FrequencyTotals, MonthlyInterest, PortfolioSummary,
    INTEREST_MONTHS,
};
