//! Lambda entrypoint of the `create-debt` function (`POST /debts`).

http_functions::main!(commands::create_debt, |env| commands::DebtDeps::new(
    &env.sealed_table()?.stores
));
