//! Route matching as API Gateway does it, over the API's one route table (`api::ROUTES`): a request's method
//! and path to its route and path parameters, or the 404 and 405 API Gateway answers itself.

use std::collections::HashMap;

use api::{Route, ROUTES};
use http::Method;
use http_api::Problem;

pub struct RouteMatch {
    pub route: &'static Route,
    /// As the integration event carries them.
    pub path_parameters: HashMap<String, String>,
}

/// The path parameters when `path` fits `template`.
fn fit(template: &str, path: &str) -> Option<HashMap<String, String>> {
    // Segment by segment, without collecting: every request tries a few templates before its own.
    let mut wanted = Segments::of(template);
    let mut given = Segments::of(path.trim_end_matches('/'));
    let mut parameters = HashMap::new();
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return Some(parameters),
            (Some(w), Some(g)) => match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                Some(name) if !g.is_empty() => {
                    parameters.insert(name.to_owned(), percent_decode(g)?);
                }
                Some(_) => return None,
                None if w == g => {}
                None => return None,
            },
            _ => return None,
        }
    }
}

/// The `/`-separated segments of a path after its leading slashes, as `str::split` gives them, found by a
/// plain byte scan (a path is mostly one long id; `split`'s searcher cost more than the rest of routing).
struct Segments<'a>(Option<&'a str>);

impl<'a> Segments<'a> {
    fn of(path: &'a str) -> Self {
        Segments(Some(path.trim_start_matches('/')))
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.0?;
        match rest.bytes().position(|b| b == b'/') {
            Some(slash) => {
                self.0 = Some(&rest[slash + 1..]);
                Some(&rest[..slash])
            }
            None => {
                self.0 = None;
                Some(rest)
            }
        }
    }
}

fn percent_decode(segment: &str) -> Option<String> {
    if !segment.contains('%') {
        return Some(segment.to_owned());
    }
    let decoded: Vec<u8> =
        form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned().into_bytes())?;
    String::from_utf8(decoded).ok()
}

/// The methods `path` answers (the routes' and the gateway's own `OPTIONS`), for a 405's `Allow` header;
/// empty for an unknown path.
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    let mut methods: Vec<&'static str> = ROUTES
        .iter()
        .filter(|route| fit(route.template, path).is_some())
        .map(|route| route.method)
        .collect();
    if !methods.is_empty() {
        methods.push("OPTIONS");
    }
    methods
}

/// The route for a request: 404 when no template fits the path, 405 when one fits but not the method.
pub fn match_route(method: &Method, path: &str) -> Result<RouteMatch, Problem> {
    // Only the method's own templates are tried for a match; the others only decide 404 or 405.
    let own = ROUTES
        .iter()
        .filter(|route| route.method == method.as_str());
    for route in own {
        if let Some(path_parameters) = fit(route.template, path) {
            return Ok(RouteMatch {
                route,
                path_parameters,
            });
        }
    }
    Err(if allowed_methods(path).is_empty() {
        Problem::not_found(format!("no route for {path}"))
    } else {
        Problem::method_not_allowed(format!("{method} is not allowed on {path}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_what_split_gives() {
        for path in [
            "",
            "/",
            "//",
            "/debts",
            "/debts/",
            "/debts//history",
            "a/b",
            "/é/ü/",
            "///x",
        ] {
            let ours: Vec<&str> = Segments::of(path).collect();
            let split: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            assert_eq!(ours, split, "{path:?}");
        }
    }

    #[test]
    fn templates_match_with_parameters_and_methods() {
        let found = match_route(&Method::GET, "/debts/abc/history").unwrap();
        assert_eq!(found.route.function, "get-debt-history");
        assert_eq!(found.path_parameters["debt_id"], "abc");
        assert_eq!(
            match_route(&Method::PUT, "/debts/x")
                .unwrap()
                .route
                .function,
            "update-debt"
        );
        assert_eq!(
            match_route(&Method::GET, "/debts/").unwrap().route.function,
            "list-debts"
        );
        assert_eq!(
            match_route(&Method::GET, "/users/al%20ice")
                .unwrap()
                .path_parameters["username"],
            "al ice"
        );
        for (path, username) in [("/users/a+b", "a+b"), ("/users/a%2Bb+c%20d", "a+b+c d")] {
            assert_eq!(
                match_route(&Method::GET, path).unwrap().path_parameters["username"],
                username,
                "a '+' in a path is itself"
            );
        }
        assert_eq!(
            match_route(&Method::PATCH, "/debts/x")
                .err()
                .unwrap()
                .status,
            405
        );
        assert_eq!(
            match_route(&Method::GET, "/nowhere").err().unwrap().status,
            404
        );
        assert_eq!(
            match_route(&Method::GET, "/debts//history")
                .err()
                .unwrap()
                .status,
            404
        );
    }
}
