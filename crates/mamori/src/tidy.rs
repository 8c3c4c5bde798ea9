//! Repository hygiene checked as a test: every Rust file opens with a `//!` comment and
//! no text file has trailing whitespace or an `#[ignore]` without a reason.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.')
                || name == "target"
                || name == "models"
                || name == "__pycache__"
            {
                continue;
            }
            if path.is_dir() {
                files(&path, out);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("rs" | "md" | "py" | "toml" | "sh")
            ) {
                out.push(path);
            }
        }
    }

    #[test]
    fn repository_is_tidy() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut all = Vec::new();
        for dir in ["crates", "services", "docs", "tests", "scripts"] {
            files(&root.join(dir), &mut all);
        }
        let mut problems = Vec::new();
        for path in &all {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let shown = path.strip_prefix(&root).unwrap_or(path).display().to_string();
            if path.extension().is_some_and(|e| e == "rs") && !text.trim_start().starts_with("//!")
            {
                problems.push(format!("{shown}: does not open with a //! comment"));
            }
            for (i, line) in text.lines().enumerate() {
                if line.ends_with(' ') || line.ends_with('\t') {
                    problems.push(format!("{shown}:{}: trailing whitespace", i + 1));
                }
                if line.trim() == "#[ignore]" {
                    problems.push(format!("{shown}:{}: #[ignore] needs a reason", i + 1));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
