//! Lambda entrypoint of the `create-user` function (`POST /users`).

http_functions::main!(commands::create_user, |env| commands::UserDeps::new(
    &env.sealed_table()?.stores,
    env.passwords()?
));
