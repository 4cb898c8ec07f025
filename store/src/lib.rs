//! The storage port: the one-table item model of the design (keys, items, read items), opaque cursors, and the
//! narrow [`EventStore`] trait that the DynamoDB and SQLite engines both implement and one suite tests.

pub mod codec;
pub mod cursor;
mod error;
mod item;
pub mod keys;
pub mod ledger;
mod port;

pub use error::{StoreError, THROTTLING_CODES};
pub use item::{Attributes, Item, ItemKey, ReadItem, RESERVED_ATTRIBUTES};
pub use port::{
    all_pages, ensure_countable, ensure_not_event, query_all, AggregateRef, AppendRequest,
    EventStore, Guard, Page, Query, QueryTarget, Segment, Tally, WriteOutcome,
};
