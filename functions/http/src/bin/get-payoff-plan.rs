//! Lambda entrypoint of the `get-payoff-plan` function (`GET /users/{username}/payoff-plan`).

http_functions::main!(queries::get_payoff_plan, |env| queries::QueryDeps::new(
    &env.sealed_table()?.stores
));
