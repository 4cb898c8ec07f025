//! Lambda entrypoint of the `healthz` function (`GET /healthz`). It reads one record, so the table as
//! stored is enough (no key-encryption key).

http_functions::main!(queries::healthz, |env| {
    let table = env.table()?;
    queries::QueryDeps::new(&table, std::sync::Arc::clone(&table.events))
});
