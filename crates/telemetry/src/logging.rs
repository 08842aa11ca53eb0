//! Tracing set-up shared by the functions: the level comes from `AWS_LAMBDA_LOG_LEVEL` or
//! `RUST_LOG` as usual, but no level lets a dependency log what a client sent. At TRACE the
//! Lambda runtime logs every raw event (passwords, secrets, tokens) and the AWS SDK every request
//! body; so the runtime crates never log below INFO and other dependencies never below DEBUG,
//! whatever the variables say.

use tracing::Level;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::{FilterExt, Targets, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

/// Targets that log the raw invocation event or response: INFO at most.
const RUNTIME_TARGETS: &[&str] = &["lambda_runtime", "lambda_runtime_api_client", "lambda_http"];

/// Our own crates follow the configured level fully.
const OWN_PREFIX: &str = "tollgate";

/// The most verbose level a log line from `target` may have.
pub fn ceiling(target: &str) -> Level {
    let root = target.split("::").next().unwrap_or(target);
    if RUNTIME_TARGETS.contains(&root) {
        Level::INFO
    } else if root.starts_with(OWN_PREFIX) {
        Level::TRACE
    } else {
        Level::DEBUG
    }
}

/// Whether a line at `level` from `target` may be written at all (before the configured level).
pub fn allowed(target: &str, level: &Level) -> bool {
    level <= &ceiling(target)
}

/// Installs the global subscriber: JSON when `AWS_LAMBDA_LOG_FORMAT=JSON` (Lambda's advanced
/// logging controls), plain text otherwise; no timestamps (CloudWatch adds them); written to
/// stdout through `crate::output`.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    subscriber(&level, json).init();
}

/// The subscriber [`init`] installs, for a level (as `RUST_LOG` takes it) and a format (tests
/// use it with `tracing::subscriber::with_default`).
pub fn subscriber(level: &str, json: bool) -> impl tracing::Subscriber + Send + Sync {
    let configured = configured_level(level);
    let capped = filter_fn(|meta| allowed(meta.target(), meta.level()));
    let filter = configured.and(capped);
    // Through the output module, so a batch (an authorizer decision) writes what was logged while
    // it decided and its decision line to stdout in one write.
    // No `span` beside `spans`: the current span is the list's last, and writing it twice
    // was a third of every log line's bytes (docs/performance.md, "The whole bill").
    let layer = fmt::layer()
        .with_target(false)
        .without_time()
        .with_writer(crate::output::Stdout);
    let layer = if json {
        layer
            .json()
            .with_current_span(false)
            .with_filter(filter)
            .boxed()
    } else {
        layer.with_filter(filter).boxed()
    };
    tracing_subscriber::registry().with(layer)
}

/// `info`, `DEBUG`, `tollgate=debug,warn`: a level, or `target=level` directives, as `RUST_LOG`
/// takes them (without its regex field filters, which would add a regex engine to every
/// binary). Anything unreadable (e.g. Lambda's `FATAL`) is INFO; targets not named get INFO.
fn configured_level(text: &str) -> Targets {
    let targets: Targets = text.parse().unwrap_or_default();
    match targets.default_level() {
        Some(_) => targets,
        None => targets.with_default(LevelFilter::INFO),
    }
}

/// An error and every source under it, `: `-separated, for the one log line of a failure.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_levels_read_like_rust_log() {
        let at = |text: &str, target: &str, level: Level| {
            configured_level(text).would_enable(target, &level)
        };
        assert!(at("debug", "tollgate_token", Level::DEBUG));
        assert!(!at("debug", "tollgate_token", Level::TRACE));
        assert!(at("TRACE", "tollgate_token", Level::TRACE));
        assert!(at("FATAL", "tollgate_token", Level::INFO));
        assert!(!at("FATAL", "tollgate_token", Level::DEBUG));
        assert!(!at("nonsense=", "tollgate_token", Level::DEBUG));
        assert!(at(
            "tollgate_token=debug",
            "tollgate_token::handler",
            Level::DEBUG
        ));
        assert!(at("tollgate_token=debug", "hyper", Level::INFO));
        assert!(!at("tollgate_token=debug", "hyper", Level::DEBUG));
        assert!(!at("warn", "tollgate_token", Level::INFO));
    }

    #[test]
    fn the_runtime_never_logs_below_info_and_no_dependency_at_trace() {
        for target in [
            "lambda_runtime",
            "lambda_runtime::layers::api_response",
            "lambda_http::request",
            "lambda_runtime_api_client",
        ] {
            assert!(!allowed(target, &Level::TRACE), "{target}");
            assert!(!allowed(target, &Level::DEBUG), "{target}");
            assert!(allowed(target, &Level::INFO), "{target}");
        }
        for target in [
            "aws_smithy_runtime::client::orchestrator",
            "hyper_util",
            "h2",
        ] {
            assert!(!allowed(target, &Level::TRACE), "{target}");
            assert!(allowed(target, &Level::DEBUG), "{target}");
        }
        assert!(allowed("tollgate_service::endpoint", &Level::TRACE));
        assert!(allowed("tollgate_token::handler", &Level::TRACE));
    }
}
