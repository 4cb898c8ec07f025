//! Lambda entrypoint of the `login` function (`POST /login`). It reads credentials only, records of the
//! table as stored.

http_functions::main!(commands::login, |env| commands::LoginDeps::new(
    &env.table()?,
    env.passwords()?,
    env.tokens()
));
