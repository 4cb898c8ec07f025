//! Lambda entrypoint of the `get-debt-schedule` function (`GET /debts/{debt_id}/schedule`).

http_functions::main!(queries::get_debt_schedule, |env| queries::QueryDeps::new(
    &env.sealed_table()?.stores
));
