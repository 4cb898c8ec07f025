//! Lambda entrypoint of the `delete-debt` function (`DELETE /debts/{debt_id}`).

http_functions::main!(commands::delete_debt, |env| commands::DebtDeps::new(
    &env.sealed_table()?.stores
));
