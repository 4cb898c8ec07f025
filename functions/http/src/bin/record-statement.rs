//! Lambda entrypoint of the `record-statement` function (`POST /debts/{debt_id}/statements`).

http_functions::main!(commands::record_statement, |env| commands::DebtDeps::new(
    &env.sealed_table()?.stores
));
