//! Lambda entrypoint of the `get-calendar-feed` function (`GET /calendar/{token}.ics`, public: the token is
//! the credential). The table is opened unsealed: the feed reads read items and the feed's record, never an
//! event, so the function may not use the KMS key.

http_functions::main!(queries::calendar_feed, |env| {
    let stores = env.table()?;
    queries::QueryDeps::new(&stores, std::sync::Arc::clone(&stores.events))
});
