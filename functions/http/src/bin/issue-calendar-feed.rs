//! Lambda entrypoint of the `issue-calendar-feed` function (`POST /users/{username}/calendar`).

http_functions::main!(
    commands::issue_calendar_feed,
    |env| commands::UserDeps::new(&env.sealed_table()?.stores, env.passwords()?)
);
