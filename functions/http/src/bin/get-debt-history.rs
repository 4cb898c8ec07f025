//! Lambda entrypoint of the `get-debt-history` function (`GET /debts/{debt_id}/history`).

http_functions::main!(queries::get_debt_history, |env| {
    let sealed = env.sealed_table()?;
    queries::QueryDeps::new(&sealed.stores, sealed.engine_events)
});
