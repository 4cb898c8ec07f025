//! Lambda entrypoint of the `get-debt-schedule` function (`GET /debts/{debt_id}/schedule`).

http_functions::main!(queries::get_debt_schedule, |env| {
    let sealed = env.sealed_table()?;
    queries::QueryDeps::new(&sealed.stores, sealed.engine_events)
});
