//! Lambda entrypoint of the `get-summary` function (`GET /users/{username}/summary`).

http_functions::main!(queries::get_summary, |env| {
    let sealed = env.sealed_table()?;
    queries::QueryDeps::new(&sealed.stores, sealed.engine_events)
});
