//! `make port-calls`: the storage requests of each API call, counted on SQLite through the port, as the table
//! `docs/operations.md` prices (and `tests/tests/operations_doc.rs` keeps equal to what the code does).

#[tokio::main]
async fn main() {
    lambda_support::metrics::send_to(|_| {});
    print!(
        "{}",
        integration_tests::counting::markdown_table(&integration_tests::counting::measure().await)
    );
}
