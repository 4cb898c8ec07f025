//! Lambda entrypoint of the `get-debt` function (`GET /debts/{debt_id}`).

http_functions::main!(queries::get_debt, |env| {
    let sealed = env.sealed_table()?;
    queries::QueryDeps::new(&sealed.stores, sealed.engine_events)
});
