//! Lambda entrypoint of the `adopt-plan` function (`PUT /users/{username}/plan`).

http_functions::main!(commands::adopt_plan, |env| commands::UserDeps::new(
    &env.sealed_table()?.stores,
    env.passwords()?
));
