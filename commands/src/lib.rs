//! Write side: the command Lambda handlers (`create-user`, `login`, `create-debt`, `update-debt`,
//! `delete-debt`) that parse a request, load the aggregate, `decide`, and append through the storage port.
//! The handlers arrive with the write-side issue; the deciders they call live in `domain`.
