//! Lambda entrypoint of the `get-plan` function (`GET /users/{username}/plan`).

http_functions::main!(queries::get_plan, |env| {
    let sealed = env.sealed_table()?;
    queries::QueryDeps::new(&sealed.stores, sealed.engine_events)
});
