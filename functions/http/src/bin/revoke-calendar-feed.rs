//! Lambda entrypoint of the `revoke-calendar-feed` function (`DELETE /users/{username}/calendar`).

http_functions::main!(commands::revoke_calendar_feed, |env| {
    commands::UserDeps::new(&env.sealed_table()?.stores, env.passwords()?)
});
