//! Lambda entrypoint of the `record-payment` function (`POST /debts/{debt_id}/payments`).

http_functions::main!(commands::record_payment, |env| commands::DebtDeps::new(
    &env.sealed_table()?.stores
));
