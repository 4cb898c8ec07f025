//! Read side, serving half: the query Lambda handlers that answer every GET from read items. Arrives with the
//! read-side issue; the paged, cursor-bound reads it relies on are `store::EventStore::query`.
