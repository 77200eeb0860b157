//! The modules of the operator (`src/`) and of the emulator (`emulator/src/`) import each other
//! without circles: each module's `crate::…` and `super::…` paths (outside comments and test
//! modules) form a graph with no cycle, taken per top-level module and per module of
//! `src/controller/`. A circle makes a module impossible to read or test without the ones that
//! use it; this test names the modules of any circle that appears.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file below `dir`.
fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The module path of a source file (`controller::apply`), `None` for test files.
fn module(root: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(root).ok()?.with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    let last = parts.last()?;
    if last.contains("tests") || last.ends_with("_cases") {
        return None;
    }
    Some(parts.join("::"))
}

/// The group a module counts in: its top-level module, or `controller::<module>`.
fn group(module: &str) -> String {
    let parts: Vec<&str> = module.split("::").collect();
    match parts.as_slice() {
        ["controller", child, ..] => format!("controller::{child}"),
        [first, ..] => first.to_string(),
        [] => String::new(),
    }
}

/// The code of a file without comments and test modules.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths a file names: `crate::a::b` as `a::b`, `super::a` (and `super::super::a`)
/// relative to the module `me`.
fn named(code: &str, me: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for prefix in ["crate::", "super::"] {
        for (at, _) in code.match_indices(prefix) {
            let before = code[..at].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let path: String = code[at..]
                .chars()
                .take_while(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == ':'
                })
                .collect();
            let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            let mut base: Vec<&str> = match segments.first() {
                Some(&"crate") => {
                    segments.remove(0);
                    Vec::new()
                }
                _ => me.split("::").filter(|s| !s.is_empty()).collect(),
            };
            while segments.first() == Some(&"super") {
                segments.remove(0);
                base.pop();
            }
            if segments.is_empty() {
                continue;
            }
            base.extend(segments);
            paths.push(base.join("::"));
        }
    }
    paths
}

/// The import graph between groups of the crate rooted at `root`.
fn graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    sources(root, &mut files);
    let modules: BTreeMap<String, PathBuf> = files
        .iter()
        .filter_map(|file| Some((module(root, file)?, file.clone())))
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (me, file) in &modules {
        let text = std::fs::read_to_string(file).expect("a source file");
        for mut target in named(&code(&text), me) {
            while !modules.contains_key(&target) {
                match target.rsplit_once("::") {
                    Some((shorter, _)) => target = shorter.to_string(),
                    None => break,
                }
            }
            let related = target == *me
                || me.starts_with(&format!("{target}::"))
                || target.starts_with(&format!("{me}::"));
            if modules.contains_key(&target) && !related && group(me) != group(&target) {
                edges.entry(group(me)).or_default().insert(group(&target));
            }
        }
    }
    edges
}

/// The groups that lie on a cycle, each with the groups of the cycle it imports.
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(at) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == to {
                    return true;
                }
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        false
    };
    let mut found = BTreeMap::new();
    for (from, targets) in edges {
        let back: BTreeSet<String> = targets
            .iter()
            .filter(|to| reaches(to, from))
            .cloned()
            .collect();
        if !back.is_empty() {
            found.insert(from.clone(), back);
        }
    }
    found
}

fn root(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn the_operators_modules_import_each_other_without_circles() {
    let edges = graph(&root("src"));
    assert!(
        edges.contains_key("controller::apply"),
        "the graph was read: {edges:?}"
    );
    assert_eq!(
        circles(&edges),
        BTreeMap::new(),
        "modules on an import circle"
    );
}

#[test]
fn the_emulators_modules_import_each_other_without_circles() {
    let edges = graph(&root("emulator/src"));
    assert!(edges.contains_key("api"), "the graph was read: {edges:?}");
    assert_eq!(
        circles(&edges),
        BTreeMap::new(),
        "modules on an import circle"
    );
}

#[test]
fn a_circle_is_found_and_named() {
    let edges = BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["c".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
        ("d".to_string(), BTreeSet::from(["a".to_string()])),
    ]);
    let found = circles(&edges);
    assert_eq!(
        found.keys().cloned().collect::<Vec<_>>(),
        vec!["a".to_string(), "b".to_string(), "c".to_string()]
    );
}

#[test]
fn paths_in_comments_and_tests_do_not_count() {
    let text = "//! see [`crate::x`]\nuse crate::y::Z;\n#[cfg(test)]\nmod tests { use crate::w; }";
    assert_eq!(named(&code(text), "a"), vec!["y".to_string()]);
}

#[test]
fn super_paths_are_read_from_the_module_that_names_them() {
    let text = "use super::b::C;\nuse super::super::d;";
    assert_eq!(
        named(text, "x::y::z"),
        vec!["x::y::b".to_string(), "x::d".to_string()]
    );
}
