//! Lambda entrypoint of the `get-user` function (`GET /users/{username}`).

http_functions::main!(queries::get_user, |env| queries::QueryDeps::new(
    &env.sealed_table()?.stores
));
