//! Lambda entrypoint of the `update-debt` function (`PUT /debts/{debt_id}`).

http_functions::main!(commands::update_debt, |env| commands::DebtDeps::new(
    &env.sealed_table()?.stores
));
