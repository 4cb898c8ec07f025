//! Lambda entrypoint of the `get-debt-history` function (`GET /debts/{debt_id}/history`).

http_functions::main!(queries::get_debt_history, |env| queries::QueryDeps::new(
    &env.sealed_table()?.stores
));
