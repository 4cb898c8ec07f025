//! The web client's static files (`web/`, and uPlot from the tools folder the Makefile fills), served by the
//! local gateway at `/` so that the client and the API share one origin, as CloudFront serves them on AWS.
//! Only the listed files are served, read from disk on each request (edit a file, reload the page).

use std::path::PathBuf;

use axum::body::Body as AxumBody;
use axum::response::Response as AxumResponse;
use http::{HeaderValue, StatusCode};

/// A served path: the file it is, under the web folder or the vendor folder, and its content type.
struct WebFile {
    path: &'static str,
    file: &'static str,
    vendor: bool,
    content_type: &'static str,
}

const fn file(
    path: &'static str,
    file: &'static str,
    vendor: bool,
    content_type: &'static str,
) -> WebFile {
    WebFile {
        path,
        file,
        vendor,
        content_type,
    }
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file of the client, by the path it is served at.
const FILES: [WebFile; 7] = [
    file("/", "index.html", false, HTML),
    file("/app.js", "app.js", false, JS),
    file("/api.js", "api.js", false, JS),
    file("/chart.js", "chart.js", false, JS),
    file("/style.css", "style.css", false, CSS),
    file("/vendor/uPlot.iife.min.js", "uPlot.iife.min.js", true, JS),
    file("/vendor/uPlot.min.css", "uPlot.min.css", true, CSS),
];

/// The page's policy: its own scripts, styles and API only (uPlot sets styles through the DOM, which
/// `style-src 'self'` allows); no frames.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; \
     script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

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
        path == "/config.json" || FILES.iter().any(|f| f.path == path)
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
        let Some(found) = FILES.iter().find(|f| f.path == path) else {
            return respond(StatusCode::NOT_FOUND, "text/plain", b"not found".to_vec());
        };
        let folder = if found.vendor {
            &self.vendor
        } else {
            &self.dir
        };
        match tokio::fs::read(folder.join(found.file)).await {
            Ok(bytes) => respond(StatusCode::OK, found.content_type, bytes),
            Err(error) => {
                tracing::warn!(%error, file = found.file, "a web client file is missing (run make tools)");
                respond(StatusCode::NOT_FOUND, "text/plain", b"not found".to_vec())
            }
        }
    }
}

fn respond(status: StatusCode, content_type: &'static str, bytes: Vec<u8>) -> AxumResponse {
    let mut response = AxumResponse::new(AxumBody::from(bytes));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(content_type));
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
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
        assert_eq!(headers["content-type"], HTML);
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
