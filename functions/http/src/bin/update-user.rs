//! Lambda entrypoint of the `update-user` function (`PATCH /users/{username}`).

http_functions::main!(commands::update_user, |env| commands::UserDeps::new(
    &env.sealed_table()?.stores,
    env.passwords()?
));
