//! Lambda entrypoint of the `list-debts` function (`GET /debts`).

http_functions::main!(queries::list_debts, |env| queries::QueryDeps::new(
    &env.sealed_table()?.stores
));
