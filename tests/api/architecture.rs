//! The module map holds (docs/ARCHITECTURE.md): no cycle between the top-level modules of
//! `src/`, and no `super::super::` paths. Read from the source text, so a new import that
//! would tie two layers into a knot fails here, naming the files and lines that do it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One `crate::<module>` reference: where it stands.
#[derive(Debug, Clone)]
struct Use {
    file: PathBuf,
    line: usize,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/http/api/keys.rs` -> `http`);
/// `None` for the crate roots.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative
        .components()
        .next()?
        .as_os_str()
        .to_str()?
        .to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (!matches!(name.as_str(), "lib" | "main")).then_some(name)
}

/// The file's lines up to its unit tests (a test may reach anywhere), comments dropped.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .map(|(i, l)| (i + 1, l.split("//").next().unwrap_or("")))
}

/// Modules named after `crate::` on a line, including those in a `use crate::{a, b}` group.
fn crate_references(line: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            for part in inner.split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    names.push(name);
                }
            }
        } else {
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                names.push(name);
            }
        }
        rest = after;
    }
    names
}

/// Arrows between top-level modules: (from, to) -> the places that make it.
fn module_graph(src: &Path) -> BTreeMap<(String, String), Vec<Use>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| top_module(src, f)).collect();
    let mut arrows: BTreeMap<(String, String), Vec<Use>> = BTreeMap::new();
    for file in &files {
        let Some(from) = top_module(src, file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (line, code) in code_lines(&text) {
            for to in crate_references(code) {
                if to != from && modules.contains(&to) {
                    arrows.entry((from.clone(), to)).or_default().push(Use {
                        file: file.clone(),
                        line,
                    });
                }
            }
        }
    }
    arrows
}

/// A cycle through the graph, as the modules along it, if there is one.
fn find_cycle(arrows: &BTreeMap<(String, String), Vec<Use>>) -> Option<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in arrows.keys() {
        next.entry(from).or_default().push(to);
    }
    // Depth first; a module met again while still on the path closes a cycle.
    fn visit<'a>(
        at: &'a str,
        next: &BTreeMap<&'a str, Vec<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| *m == at) {
            let mut cycle: Vec<String> = path[start..].iter().map(|m| m.to_string()).collect();
            cycle.push(at.to_string());
            return Some(cycle);
        }
        if done.contains(at) {
            return None;
        }
        path.push(at);
        for to in next.get(at).into_iter().flatten() {
            if let Some(cycle) = visit(to, next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(at);
        None
    }
    let mut done = BTreeSet::new();
    for start in next.keys() {
        if let Some(cycle) = visit(start, &next, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn top_level_modules_form_no_cycle() {
    let arrows = module_graph(&src());
    assert!(
        arrows.contains_key(&("http".to_string(), "storage".to_string())),
        "the reader must see http's imports of storage; it found {:?}",
        arrows.keys().collect::<Vec<_>>()
    );
    if let Some(cycle) = find_cycle(&arrows) {
        let mut why = String::new();
        for pair in cycle.windows(2) {
            let uses = &arrows[&(pair[0].clone(), pair[1].clone())];
            why.push_str(&format!("\n  {} -> {}:", pair[0], pair[1]));
            for u in uses.iter().take(5) {
                why.push_str(&format!(" {}:{}", u.file.display(), u.line));
            }
        }
        panic!(
            "the top-level modules form a cycle: {}. Move what the lower module needs \
             below it instead (docs/ARCHITECTURE.md says which module may use which).{why}",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let place = || Use {
        file: PathBuf::from("x.rs"),
        line: 1,
    };
    let mut arrows = BTreeMap::new();
    arrows.insert(("a".to_string(), "b".to_string()), vec![place()]);
    arrows.insert(("b".to_string(), "c".to_string()), vec![place()]);
    assert_eq!(find_cycle(&arrows), None);
    arrows.insert(("c".to_string(), "a".to_string()), vec![place()]);
    assert_eq!(
        find_cycle(&arrows),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        crate_references("use crate::{clock::Clock, storage::Store}; crate::http::x"),
        vec!["clock", "storage", "http"]
    );
}

#[test]
fn no_path_climbs_two_modules_up() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line.contains("super::super::") {
                found.push(format!("{}:{}", file.display(), i + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "`super::super::` paths: name the module from `crate::` instead: {found:?}"
    );
}

/// Every route is registered through `http::routes::Routes`, at the method and path its
/// `#[utoipa::path]` names, so the OpenAPI document lists every route there is: none is
/// registered with actix's own `route`/`resource` (scopes, which only prefix, are fine).
#[test]
fn routes_are_registered_only_from_their_documentation() {
    let mut files = Vec::new();
    rust_files(&src().join("http"), &mut files);
    rust_files(&src().join("startup"), &mut files);
    let mut found = Vec::new();
    for file in files {
        if file.ends_with("http/routes.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in code_lines(&text) {
            if [
                "web::resource(",
                ".route(",
                "web::get()",
                "web::post()",
                "#[get(",
                "#[post(",
            ]
            .iter()
            .any(|p| line.contains(p))
            {
                found.push(format!("{}:{}: {}", file.display(), i, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "routes registered outside http::routes::Routes (add them with `routes.add(__path_handler, handler)`): {found:#?}"
    );
}
