//! Lambda entrypoint of the `get-progress` function (`GET /users/{username}/progress`).

http_functions::main!(queries::get_progress, |env| {
    let sealed = env.sealed_table()?;
    queries::QueryDeps::new(&sealed.stores, sealed.engine_events)
});
