//! The storage port: the one-table item model of the design (keys, items, read items), opaque cursors, and the
//! port by role ([`EventLog`], [`ReadModel`], [`Records`]) that the DynamoDB and SQLite engines both
//! implement and one suite tests.

pub mod codec;
pub mod cursor;
mod error;
mod item;
pub mod keys;
pub mod ledger;
pub mod notice_index;
mod port;
mod roles;

pub use error::{StoreError, THROTTLING_CODES};
pub use item::{attributes_from_json, Attributes, Item, ItemKey, ReadItem, RESERVED_ATTRIBUTES};
pub use port::{
    all_pages, ensure_countable, ensure_not_event, AggregateRef, AppendRequest, Guard, Page, Query,
    QueryTarget, Segment, Tally, WriteOutcome,
};
pub use roles::{
    query_all, query_all_read_items, read_item, CountOnce, Engine, EventLog, Overwrite,
    ReadItemKind, ReadModel, Records, Scan, SortKeyMatch, StoreResult, Stores,
};
