//! Read side, writing half: the projector that turns events into read items (`USER#INFO`, `DEBT#...`) with
//! version-guarded writes, replay, and the analytics consumers. Arrives with the read-side issue; the guarded
//! writes it relies on are `store::EventStore::put_read_item`.
