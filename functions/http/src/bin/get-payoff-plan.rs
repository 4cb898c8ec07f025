//! Lambda entrypoint of the `get-payoff-plan` function (`GET /users/{username}/payoff-plan`).

http_functions::main!(queries::get_payoff_plan, |env| {
    let sealed = env.sealed_table()?;
    queries::QueryDeps::new(&sealed.stores, sealed.engine_events)
});
