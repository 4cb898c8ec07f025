//! Lambda entrypoint of the `unsubscribe` function (`GET` and `POST /unsubscribe/{token}`, public: the token
//! in a notice email's link is the credential).

http_functions::main!(commands::unsubscribe, |env| commands::UserDeps::new(
    &env.sealed_table()?.stores,
    env.passwords()?
));
