//! `docs/operations.md` prices the storage requests of each API call: its table must be what the code does.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operations_doc_counts_the_requests_the_code_makes() {
    lambda_support::metrics::send_to(|_| {});
    let measured =
        integration_tests::counting::markdown_table(&integration_tests::counting::measure().await);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/operations.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let (_, rest) = doc
        .split_once("<!-- port-calls -->\n")
        .expect("the doc has the table");
    let (documented, _) = rest.split_once("<!-- /port-calls -->").unwrap();
    assert_eq!(
        documented, measured,
        "docs/operations.md is out of date: paste the output of `make port-calls`"
    );
}
