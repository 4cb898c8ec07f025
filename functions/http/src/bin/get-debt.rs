//! Lambda entrypoint of the `get-debt` function (`GET /debts/{debt_id}`).

http_functions::main!(queries::get_debt, |env| queries::QueryDeps::new(
    &env.sealed_table()?.stores
));
