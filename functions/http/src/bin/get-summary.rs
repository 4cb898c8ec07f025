//! Lambda entrypoint of the `get-summary` function (`GET /users/{username}/summary`).

http_functions::main!(queries::get_summary, |env| queries::QueryDeps::new(
    &env.sealed_table()?.stores
));
