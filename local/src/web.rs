//! The web client's static files (`web/`, and uPlot from the tools folder the Makefile fills), served by the
//! local gateway at `/` so that the client and the API share one origin, as CloudFront serves them on AWS.
//! Only the listed files are served, read from disk on each request (edit a file, reload the page).

use std::path::PathBuf;
use std::sync::LazyLock;

use axum::body::Body as AxumBody;
use axum::response::Response as AxumResponse;
use http::{HeaderValue, StatusCode};
use serde::Deserialize;

/// `web/files.json`: the files of the client and the page's policy, which the Pulumi program reads too, so
/// that the page on CloudFront is the page served here.
#[derive(Debug, Deserialize)]
struct Manifest {
    files: Vec<WebFile>,
    content_security_policy: Vec<String>,
}

/// A served path: the file it is, in the web folder or the vendor folder, and its content type.
#[derive(Debug, Deserialize)]
struct WebFile {
    path: String,
    file: String,
    from: Folder,
    content_type: String,
}

#[derive(Debug, Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Folder {
    Web,
    Vendor,
}

/// The manifest, compiled in: a malformed one fails the unit tests below, not a request.
static MANIFEST: LazyLock<Manifest> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../web/files.json")).expect("web/files.json is valid")
});

/// The page's policy (its own scripts, styles and API only; uPlot sets styles through the DOM, which
/// `style-src 'self'` allows; no frames), as one header value.
static CONTENT_SECURITY_POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
    HeaderValue::from_str(&MANIFEST.content_security_policy.join("; "))
        .expect("the policy is a valid header value")
});

/// Where the client's files are.
#[derive(Debug, Clone)]
pub struct WebClient {
    /// `web/` (`WEB_DIR`).
    pub dir: PathBuf,
    /// uPlot's `dist/` as npm installed it (`WEB_VENDOR_DIR`).
    pub vendor: PathBuf,
}

impl WebClient {
    /// The repository's `web/` and the tools folder's uPlot, unless `WEB_DIR` or `WEB_VENDOR_DIR` say.
    pub fn from_env() -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        WebClient {
            dir: std::env::var_os("WEB_DIR").map_or_else(|| root.join("web"), PathBuf::from),
            vendor: std::env::var_os("WEB_VENDOR_DIR").map_or_else(
                || root.join(".tools/web/node_modules/uplot/dist"),
                PathBuf::from,
            ),
        }
    }

    /// Whether `path` is one of the client's (a `GET` the route table never sees).
    pub fn serves(path: &str) -> bool {
        path == "/config.json" || MANIFEST.files.iter().any(|f| f.path == path)
    }

    /// The file at `path`, or a plain 404 when it is missing on disk (uPlot before `make tools`).
    pub async fn answer(&self, path: &str) -> AxumResponse {
        if path == "/config.json" {
            // Same origin: the API is wherever the page came from.
            return respond(
                StatusCode::OK,
                "application/json",
                b"{\"api_url\": \"\"}".to_vec(),
            );
        }
        let Some(found) = MANIFEST.files.iter().find(|f| f.path == path) else {
            return respond(StatusCode::NOT_FOUND, "text/plain", b"not found".to_vec());
        };
        let folder = match found.from {
            Folder::Web => &self.dir,
            Folder::Vendor => &self.vendor,
        };
        match tokio::fs::read(folder.join(&found.file)).await {
            Ok(bytes) => respond(StatusCode::OK, &found.content_type, bytes),
            Err(error) => {
                tracing::warn!(%error, file = %found.file, "a web client file is missing (run make tools)");
                respond(StatusCode::NOT_FOUND, "text/plain", b"not found".to_vec())
            }
        }
    }
}

fn respond(status: StatusCode, content_type: &str, bytes: Vec<u8>) -> AxumResponse {
    let mut response = AxumResponse::new(AxumBody::from(bytes));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("text/plain")),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("content-security-policy", CONTENT_SECURITY_POLICY.clone());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listed_files_are_served() {
        for path in ["/", "/app.js", "/config.json", "/vendor/uPlot.iife.min.js"] {
            assert!(WebClient::serves(path), "{path}");
        }
        for path in [
            "/index.html/..",
            "/../Cargo.toml",
            "/web/app.js",
            "/vendor/",
            "/debts",
        ] {
            assert!(!WebClient::serves(path), "{path}");
        }
    }

    #[test]
    fn every_file_of_our_own_the_manifest_names_is_in_web() {
        let web = WebClient::from_env();
        let own: Vec<_> = MANIFEST
            .files
            .iter()
            .filter(|f| f.from == Folder::Web)
            .collect();
        assert!(own.iter().any(|f| f.path == "/" && f.file == "index.html"));
        for file in own {
            assert!(web.dir.join(&file.file).is_file(), "{}", file.file);
        }
    }

    #[tokio::test]
    async fn a_page_comes_with_its_type_and_policy_and_a_missing_file_is_404() {
        let dir = std::env::temp_dir().join(format!("debts-web-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html><title>t</title>").unwrap();
        let web = WebClient {
            dir: dir.clone(),
            vendor: dir.join("missing"),
        };
        let page = web.answer("/").await;
        assert_eq!(page.status(), StatusCode::OK);
        let headers = page.headers();
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        assert!(headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'self'"));
        assert_eq!(
            web.answer("/vendor/uPlot.iife.min.js").await.status(),
            StatusCode::NOT_FOUND
        );
        let config = web.answer("/config.json").await;
        let bytes = axum::body::to_bytes(config.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&bytes[..], b"{\"api_url\": \"\"}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
