//! Lambda entrypoint of the `erase-user` function (`DELETE /users/{username}`).

http_functions::main!(commands::erase_user, |env| {
    let sealed = env.sealed_table()?;
    commands::ErasureDeps::new(&sealed.stores, sealed.engine_events, env.passwords()?)
});
