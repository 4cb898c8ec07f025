//! Lambda entrypoint of the `set-notifications` function (`PUT /users/{username}/notifications`).

http_functions::main!(commands::set_notifications, |env| commands::UserDeps::new(
    &env.sealed_table()?.stores,
    env.passwords()?
));
