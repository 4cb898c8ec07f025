//! Lambda entrypoint of the `add-charge` function (`POST /debts/{debt_id}/charges`).

http_functions::main!(commands::add_charge, |env| commands::DebtDeps::new(
    &env.sealed_table()?.stores
));
