//! Builds docs/COVERAGE.md from the registered handlers and the models, so the page
//! cannot drift from the code. `UPDATE_EXPECT=1 cargo test -p mamori` rewrites it; the
//! test fails when the committed page is stale.

use std::fmt::Write as _;

use mamori_wire::models;

/// The coverage page for `services`.
pub fn render(services: &[std::sync::Arc<dyn mamori_service::Service>]) -> String {
    let mut out = String::new();
    out.push_str("# Coverage\n\n");
    out.push_str("Generated from the registered handlers and the vendored models by\n");
    out.push_str("`UPDATE_EXPECT=1 cargo test -p mamori coverage`; do not edit by hand.\n");
    out.push_str(
        "Every operation of every model is routed and decoded; one without a handler answers\n",
    );
    out.push_str("HTTP 501 `NotImplemented` in its protocol's error shape.\n\n");
    out.push_str("| service | protocol(s) | implemented | of |\n|---|---|---|---|\n");
    for id in models::IDS {
        let Some(model) = models::get(id) else { continue };
        let implemented =
            services.iter().find(|s| s.model_id() == *id).map_or(0, |s| s.operations().len());
        let protocols = if model.metadata.protocols.is_empty() {
            model.metadata.protocol.clone()
        } else {
            model.metadata.protocols.join(", ")
        };
        let _ =
            writeln!(out, "| {id} | {protocols} | {implemented} | {} |", model.operations.len());
    }
    for svc in services {
        let Some(model) = models::get(svc.model_id()) else { continue };
        let _ = writeln!(out, "\n## {}\n\nImplemented:\n", svc.model_id());
        for op in svc.operations() {
            let _ = writeln!(out, "- `{}`", op.name);
            for gap in op.gaps {
                let _ = writeln!(out, "  - gap: {gap}");
            }
        }
        let missing: Vec<&str> = model
            .operations
            .keys()
            .map(String::as_str)
            .filter(|name| !svc.operations().iter().any(|op| op.name == *name))
            .collect();
        let _ = writeln!(
            out,
            "\nNot implemented ({}): {}",
            missing.len(),
            missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
        );
    }
    out.push_str("\n## CloudFormation resource types\n\n");
    out.push_str(
        "Each type is created through its own service's operations; any other type fails\n",
    );
    out.push_str("the stack with `Resource type <type> is not supported by mamori`.\n\n");
    let mut types: Vec<(&str, &'static str, std::sync::Arc<dyn mamori_service::ResourceProvider>)> =
        Vec::new();
    for svc in services {
        for provider in svc.resource_providers() {
            for t in provider.types() {
                types.push((t, svc.model_id(), provider.clone()));
            }
        }
    }
    types.sort_by_key(|(t, _, _)| *t);
    for (t, svc, provider) in types {
        let _ = writeln!(out, "- `{t}` ({svc})");
        for gap in provider.gaps(t) {
            let _ = writeln!(out, "  - gap: {gap}");
        }
    }
    out.push_str("\n## Services without handlers\n\n");
    for id in models::IDS {
        if !services.iter().any(|s| s.model_id() == *id) {
            let _ = writeln!(out, "- {id}: every operation answers `NotImplemented`");
        }
    }
    out.push_str(include_str!("../../../docs/COVERAGE-gaps.md"));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn coverage_page_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/COVERAGE.md");
        let want = super::render(&crate::services());
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            std::fs::write(path, &want).unwrap();
            return;
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/COVERAGE.md is stale: run UPDATE_EXPECT=1 cargo test -p mamori coverage"
        );
    }
}
