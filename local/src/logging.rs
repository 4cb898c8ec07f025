//! The local server's readable log (`LOG_FORMAT` unset): tracing-subscriber's compact lines, with the access
//! line (one per request, target `access`) written by a layer of its own. tracing-subscriber escapes terminal
//! control characters in every message as it writes it, one character at a time, which was most of what an
//! access line cost (issue 16); the access line's one untrusted part, the path, is escaped the same way by
//! [`log_safe`] before the message is made, and its layer writes it as it is. Every other message keeps the
//! subscriber's own escaping.

use std::borrow::Cow;

use tracing::Subscriber;
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The target of the one-line request log.
pub const ACCESS: &str = "access";

/// The readable subscriber: `filter` decides what is logged; lines go to `writer`, stamped by `timer`,
/// coloured when `ansi`.
pub fn readable_subscriber<W, T>(
    writer: W,
    timer: T,
    filter: EnvFilter,
    ansi: bool,
) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
    T: FormatTime + Clone + Send + Sync + 'static,
{
    tracing_subscriber::registry()
        .with(filter)
        .with(
            compact(writer.clone(), timer.clone(), ansi, false)
                .with_filter(filter_fn(|meta| meta.target() == ACCESS)),
        )
        .with(
            compact(writer, timer, ansi, true)
                .with_filter(filter_fn(|meta| meta.target() != ACCESS)),
        )
}

/// tracing-subscriber's compact format without targets, escaping messages or not.
fn compact<S, W, T>(writer: W, timer: T, ansi: bool, escape: bool) -> impl Layer<S>
where
    S: Subscriber + for<'s> LookupSpan<'s>,
    W: for<'w> MakeWriter<'w> + 'static,
    T: FormatTime + 'static,
{
    tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_timer(timer)
        .with_ansi(ansi)
        .with_ansi_sanitization(escape)
        .with_writer(writer)
        .compact()
}

/// A request's path as the access log shows it: a calendar feed's path names its token, a credential, so the
/// log shows the route's template there instead (API Gateway's access log records the route key, never the
/// path).
pub fn access_path(path: &str) -> Cow<'_, str> {
    if path.starts_with("/calendar/") {
        Cow::Borrowed("/calendar/{feed}")
    } else {
        log_safe(path)
    }
}

/// `text` with the characters tracing-subscriber escapes in a message (ESC, BEL, BS, FF, DEL and the C1
/// controls) escaped as it escapes them; borrowed when there are none, as in any path of visible ASCII.
pub fn log_safe(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        matches!(
            c,
            '\x1b' | '\x07' | '\x08' | '\x0c' | '\x7f' | '\u{80}'..='\u{9f}'
        )
    };
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\x1b' => escaped.push_str("\\x1b"),
            '\x07' => escaped.push_str("\\x07"),
            '\x08' => escaped.push_str("\\x08"),
            '\x0c' => escaped.push_str("\\x0c"),
            '\x7f' => escaped.push_str("\\x7f"),
            '\u{80}'..='\u{9f}' => escaped.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_calendar_feeds_token_never_reaches_the_access_log() {
        let token = "I9DlB9ZbS_6cN-5md9GNdi6to0tnKaVz1SIe2sGOTSVX_tZAkY8rZb0G2orjX4OO";
        let path = format!("/calendar/{token}.ics");
        let logged = super::access_path(&path);
        assert!(!logged.contains(token), "{logged}");
        assert_eq!(super::access_path("/debts/d-1"), "/debts/d-1");
    }

    use super::*;
    use integration_tests::Captured;

    /// Logs what the server logs, the access line's path made safe by `path`.
    fn log_requests(path: fn(&str) -> Cow<'_, str>) {
        for raw in [
            "/debts/0b6f0a8e",
            "/users/a\u{1b}[31mred\u{9b}\u{85}\u{7f}é",
            "/x\u{07}\u{08}\u{0c}",
        ] {
            tracing::info!(target: "access", "{} {} -> {} in {:.1} ms", "GET", path(raw), 200, 0.25);
        }
        tracing::warn!("a warning naming \u{1b}[2J{}", "\u{9b}");
        tracing::info!(target: "other", "filtered out");
    }

    #[test]
    fn the_lines_are_the_single_escaping_subscribers_lines() {
        let filter = || EnvFilter::new("access=info,warn");
        let ours = Captured::default();
        tracing::subscriber::with_default(
            readable_subscriber(ours.clone(), (), filter(), false),
            || log_requests(log_safe),
        );
        let reference = Captured::default();
        let single = tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_target(false)
            .with_timer(())
            .with_ansi(false)
            .with_writer(reference.clone())
            .compact()
            .finish();
        tracing::subscriber::with_default(single, || log_requests(|path| Cow::Borrowed(path)));
        assert_eq!(ours.text(), reference.text());
        assert_eq!(ours.text().lines().count(), 4);
        assert!(!ours.text().contains('\u{1b}') && !ours.text().contains('\u{9b}'));
    }

    #[test]
    fn a_plain_path_is_not_copied() {
        assert!(matches!(log_safe("/debts/0b6f?x=1"), Cow::Borrowed(_)));
        assert_eq!(log_safe("/a\u{1b}b\u{9f}"), "/a\\x1bb\\u{9f}");
    }
}
