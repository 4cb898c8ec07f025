//! Lambda entrypoint of the `change-rate` function (`POST /debts/{debt_id}/rates`).

http_functions::main!(commands::change_rate, |env| commands::DebtDeps::new(
    &env.sealed_table()?.stores
));
