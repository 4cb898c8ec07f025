//! Lambda entrypoint of the `get-user` function (`GET /users/{username}`).

http_functions::main!(queries::get_user, |env| {
    let sealed = env.sealed_table()?;
    queries::QueryDeps::new(&sealed.stores, sealed.engine_events)
});
