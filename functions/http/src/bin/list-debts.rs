//! Lambda entrypoint of the `list-debts` function (`GET /debts`).

http_functions::main!(queries::list_debts, |env| {
    let sealed = env.sealed_table()?;
    queries::QueryDeps::new(&sealed.stores, sealed.engine_events)
});
